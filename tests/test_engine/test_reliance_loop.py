# Copyright (c) mmamr contributors. All rights reserved.
"""The modality-reliance diagnostic of RobustTestLoop (−R, −S): models
built to ignore one modality, the dataset mean (not the batch's, padding
excluded and kept zero), the result files, ``reliance=False``, and the
means of a 2-process (gloo) pre-pass."""
import csv
import importlib.util
import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.dataset import pseudo_collate
from robust_fixtures import (EPS, K, PaddedClips, PatternClips, build_model,
                             build_runner, fit, preprocess)

from mmamr.attacks.padding import padding_mask
from mmamr.engine import robust_test_loop
from mmamr.engine.robust_test_loop import (local_channel_sums, mean_input,
                                           merge_channel_sums)
from mmamr.study import summary_numbers, table_rows

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# One cheap attack: the diagnostic does not depend on the attacks.
FGSM = [dict(type='FGSM', eps=EPS)]
TOPK = (1, 2)


@pytest.fixture(scope='module')
def clips():
    return PatternClips()


@pytest.fixture(scope='module')
def fused(clips):
    """Fitted on both modalities: 100% clean accuracy."""
    return fit(build_model(), clips)


def reading_only(modality, clips):
    """A fitted model whose logits read only ``modality``'s features: the
    other half of the classifier's weights is zero, and stays so in
    training (its gradient is masked, so Adam never moves it)."""
    model = build_model()
    weight = model.cls_head.fc_cls.weight
    rgb_dim = model.branches['rgb'].feat_dim
    mask = torch.zeros_like(weight)
    if modality == 'rgb':
        mask[:, :rgb_dim] = 1
    else:
        mask[:, rgb_dim:] = 1
    with torch.no_grad():
        weight.mul_(mask)
    weight.register_hook(lambda grad: grad * mask)
    return fit(model, clips)


def run(model, clips, work_dir, **kwargs):
    """Run the loop (FGSM on RGB only); return (robustness.json, dumped
    per-sample dicts, metrics, the loop)."""
    runner = build_runner(
        model,
        clips,
        work_dir,
        FGSM,
        targets=('rgb', ),
        metric=dict(topk=TOPK),
        **kwargs)
    runner._test_evaluator = [
        runner._test_evaluator,
        dict(type='DumpResults', out_file_path=str(work_dir / 'd.pkl'))
    ]
    metrics = runner.test()
    with open(work_dir / 'robustness.json') as f:
        results = json.load(f)
    with open(work_dir / 'd.pkl', 'rb') as f:
        dumped = pickle.load(f)
    return results, dumped, metrics, runner.test_loop


@pytest.mark.parametrize('kept', ['rgb', 'skeleton'])
def test_an_ignored_modality_changes_nothing_a_used_one_everything(
        kept, clips, tmp_path):
    ignored = 'skeleton' if kept == 'rgb' else 'rgb'
    model = reading_only(kept, clips)
    results, dumped, metrics, _ = run(model, clips, tmp_path)
    # Fitted above chance (the tiny I3D alone gets 50% in 40 steps).
    assert results['clean']['top1'] >= 50.
    reliance = results['reliance']
    # Logits that do not read the modality: its mean changes no score.
    assert reliance[ignored] == results['clean']
    for d in dumped:
        assert torch.equal(d['ablated_pred_scores'][ignored], d['pred_score'])
    # The one modality read, replaced by a constant: every clip gets the
    # same input, hence the same class, right for 2 clips of 8 (chance).
    # A no-op ablation would leave 100%.
    assert reliance[kept]['top1'] == 100. / K
    assert len({int(d['ablated_pred_scores'][kept].argmax())
                for d in dumped}) == 1
    assert metrics[f'robust/reliance/{kept}/top1'] == 100. / K
    assert metrics[f'robust/reliance/{ignored}/top1'] == (
        results['clean']['top1'])


class PredictInputs:
    """Records the inputs of every ``predict`` call of a model."""

    def __init__(self, model):
        self.calls = []
        self.handle = model.register_forward_pre_hook(
            self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs):
        if kwargs.get('mode') == 'predict':
            self.calls.append({m: x.clone() for m, x in args[0].items()})


def direct_means(model, clips):
    """The per-channel means over the whole dataset, written out: RGB
    over N, V, T, H, W; the skeleton over the joints of the body-frames
    that are not padding."""
    inputs, _ = preprocess(model, clips.items)
    rgb = inputs['rgb'].double()  # [N, V, C, T, H, W]
    skeleton = inputs['skeleton'].double()  # [N, V, M, T, J, C]
    valid = (~padding_mask(skeleton)).expand_as(skeleton)
    channels = skeleton.shape[-1]
    count = valid.sum() // channels
    return dict(
        rgb=rgb.mean((0, 1, 3, 4, 5)),
        skeleton=skeleton.reshape(-1, channels).sum(0) / count), inputs


def test_means_are_the_datasets_padding_excluded_and_kept_zero(
        fused, tmp_path):
    clips = PaddedClips()
    expected, clean = direct_means(fused, clips)
    runs = {}
    for batch_size in (1, len(clips)):
        recorder = PredictInputs(fused)
        try:
            runs[batch_size] = run(
                fused,
                clips,
                tmp_path / str(batch_size),
                batch_size=batch_size) + (recorder.calls, )
        finally:
            recorder.handle.remove()
    for results, _, _, loop, _ in runs.values():
        for m in ('rgb', 'skeleton'):
            torch.testing.assert_close(
                loop.ablation_means[m], expected[m], rtol=1e-12, atol=0)
    # Batch size 1 (a per-batch mean would be the clip itself) and the
    # whole set in one batch: the same means, bit for bit, and columns.
    one, everything = runs[1], runs[len(clips)]
    for m in ('rgb', 'skeleton'):
        assert torch.equal(one[3].ablation_means[m],
                           everything[3].ablation_means[m])
    assert one[0]['reliance'] == everything[0]['reliance']
    # Padding would pull the skeleton's mean towards zero.
    naive = clean['skeleton'].double().mean((0, 1, 2, 3, 4))
    assert (expected['skeleton'] - naive).abs().min() > 0.05

    # One batch of all clips: predict calls clean, −R, −S, FGSM/rgb.
    calls, means = everything[4], everything[3].ablation_means
    assert len(calls) == 4
    assert torch.equal(calls[0]['rgb'], clean['rgb'])
    no_rgb, no_skeleton = calls[1], calls[2]
    mean = means['rgb'].float()
    assert torch.equal(no_rgb['skeleton'], clean['skeleton'])
    fill = mean[:, None, None, None].expand_as(clean['rgb'])
    assert torch.equal(no_rgb['rgb'], fill)
    assert torch.equal(no_skeleton['rgb'], clean['rgb'])
    pad = padding_mask(clean['skeleton']).expand_as(clean['skeleton'])
    assert pad.any() and not pad.all()
    ablated = no_skeleton['skeleton']
    assert torch.equal(ablated[pad], torch.zeros(int(pad.sum())))
    fill = means['skeleton'].float().expand_as(ablated)  # [..., J, C]
    assert torch.equal(ablated[~pad], fill[~pad])


def test_mean_input_keeps_padding_and_shape():
    skeleton = torch.rand(2, 1, 2, 3, 5, 3) + 0.1
    skeleton[0, 0, 1] = 0  # an absent second body
    mean = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    out = mean_input(skeleton, mean, 'skeleton')
    assert out.shape == skeleton.shape and out.dtype == skeleton.dtype
    assert torch.equal(out[0, 0, 1], torch.zeros(3, 5, 3))
    assert torch.equal(out[1, 0, 1, 2, 4], mean.float())
    rgb = torch.rand(2, 1, 3, 4, 6, 6)
    out = mean_input(rgb, mean, 'rgb')
    assert torch.equal(out[1, 0, :, 3, 5, 5], mean.float())
    assert torch.equal(out[0, 0, 2], torch.full((4, 6, 6), 0.3))


def test_reliance_false_and_unimodal_models_get_no_columns(
        fused, clips, tmp_path, monkeypatch):

    def no_pre_pass(*args, **kwargs):
        raise AssertionError('the pre-pass ran')

    monkeypatch.setattr(robust_test_loop, 'dataset_means', no_pre_pass)
    results, dumped, metrics, _ = run(
        fused, clips, tmp_path / 'off', loop=dict(reliance=False))
    assert results['reliance'] is None
    assert all('ablated_pred_scores' not in d for d in dumped)
    assert not [k for k in metrics if 'reliance' in k]
    md = (tmp_path / 'off' / 'robustness.md').read_text()
    assert '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI |\n' in md
    assert '−R' not in md
    # A unimodal model: replacing its only input would measure chance.
    rgb_only = build_model(skeleton=False)
    results, dumped, _, _ = run(rgb_only, PatternClips(modalities=('rgb', )),
                                tmp_path / 'rgb')
    assert results['reliance'] is None
    assert all('ablated_pred_scores' not in d for d in dumped)
    with pytest.raises(TypeError, match='reliance'):
        run(fused, clips, tmp_path / 'bad', loop=dict(reliance='yes'))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'tools' / 'analysis' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_result_files_summary_and_suite_table_carry_the_columns(
        fused, clips, tmp_path):
    results, _, metrics, _ = run(fused, clips, tmp_path / 'fused')
    reliance = results['reliance']
    assert list(reliance) == ['rgb', 'skeleton']
    for m in ('rgb', 'skeleton'):
        assert set(reliance[m]) == {'top1', 'top2'}
        assert metrics[f'robust/reliance/{m}/top1'] == reliance[m]['top1']
    r, s = reliance['rgb']['top1'], reliance['skeleton']['top1']
    md = (tmp_path / 'fused' / 'robustness.md').read_text()
    assert '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI | −R | −S |' in md
    assert f' | {r:.2f} | {s:.2f} |\n' in md
    assert 'replaced by its dataset mean' in md

    # An older result file, without "reliance", beside it.
    old = json.loads(json.dumps(results))
    del old['reliance']
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'robustness.json').write_text(json.dumps(old))
    files = [('Old', str(tmp_path / 'old' / 'robustness.json')),
             ('New', str(tmp_path / 'fused' / 'robustness.json'))]
    # The study's summary.json (tools/quickstart.py writes these numbers).
    numbers = summary_numbers(table_rows(files, 'Old'))
    assert numbers['New']['reliance'] == dict(rgb=r, skeleton=s)
    assert numbers['Old']['reliance'] is None
    assert set(numbers['New']['FGSM']) == {'rgb', 'avg', 'ri'}

    # The suite's table (tools/benchmark_suite.sh runs this tool).
    prefix = tmp_path / 'table'
    load_tool('robustness_table').main(
        [f'{label}={path}' for label, path in files] +
        ['--attack', 'FGSM', '--out', str(prefix)])
    with open(f'{prefix}.csv', encoding='utf-8') as f:
        rows = {row[0]: row for row in csv.reader(f)}
    assert rows['model'][-2:] == ['−R', '−S']
    assert [float(v) for v in rows['New'][-2:]] == [r, s]
    assert rows['Old'][-2:] == ['', '']
    table = Path(f'{prefix}.md').read_text(encoding='utf-8')
    assert f' | {r:.2f} | {s:.2f} |\n' in table
    assert [line for line in table.split('\n')
            if line.startswith('| Old |')][0].endswith('| – | – |')


def test_processes_sum_each_sample_once(fused):
    """DefaultSampler over 2 processes: rank 0 gets samples 0, 2, 4, 6,
    rank 1 gets 1, 3, 5, 7 (8 clips), or with 7 clips 1, 3, 5 and a
    padded 0 that rank 0 has too. The merged means are those of one
    process, bit for bit."""
    clips = PaddedClips(num=7)

    def batches(indices):
        return [
            pseudo_collate([clips.items[i] for i in indices[j:j + 2]])
            for j in range(0, len(indices), 2)
        ]

    modalities = ('rgb', 'skeleton')
    single = merge_channel_sums(
        [local_channel_sums(fused, batches(list(range(7))), modalities)],
        modalities)
    ranks = [
        local_channel_sums(fused, batches(indices), modalities)
        for indices in ([0, 2, 4, 6], [1, 3, 5, 0])
    ]
    merged = merge_channel_sums(ranks, modalities)
    for m in modalities:
        assert torch.equal(merged[m], single[m])
    # Counting the padded duplicate would move the means.
    twice = {**ranks[1], 'frame_dir=dup': ranks[1]['frame_dir=clip000']}
    moved = merge_channel_sums([ranks[0], twice], modalities)
    assert not torch.equal(moved['rgb'], single['rgb'])


# Run by each of the 2 processes, with tests/test_engine on sys.path.
GLOO_SCRIPT = """
import json
from mmengine.dist import init_dist
from mmengine.dataset import DefaultSampler, pseudo_collate
from torch.utils.data import DataLoader
from robust_fixtures import PaddedClips, build_model
from mmamr.engine.robust_test_loop import dataset_means

init_dist('pytorch', backend='gloo')
clips = PaddedClips(num=7)
loader = DataLoader(clips, batch_size=2, collate_fn=pseudo_collate,
                    sampler=DefaultSampler(clips, shuffle=False))
means = dataset_means(build_model(), loader, ('rgb', 'skeleton'))
print('MEANS', json.dumps({m: v.tolist() for m, v in means.items()}))
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_two_gloo_processes_compute_the_means_of_one(fused):
    """The real thing: 2 processes over gloo, DefaultSampler's split (7
    clips: rank 1 gets a padded duplicate), mmengine's all_gather."""
    port = str(_free_port())
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE='2',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=port,
            OMP_NUM_THREADS='1',
            PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]))
        procs.append(
            subprocess.Popen([sys.executable, '-c', GLOO_SCRIPT],
                             cwd=ROOT,
                             env=env,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             text=True))
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
    clips = PaddedClips(num=7)
    modalities = ('rgb', 'skeleton')
    local = local_channel_sums(fused, [pseudo_collate(clips.items)],
                               modalities)
    single = merge_channel_sums([local], modalities)
    expected = {m: v.tolist() for m, v in single.items()}
    for out, _ in outputs:
        line = [x for x in out.split('\n') if x.startswith('MEANS ')][0]
        assert json.loads(line[len('MEANS '):]) == expected
