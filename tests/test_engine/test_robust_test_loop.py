# Copyright (c) mmamr contributors. All rights reserved.
"""RobustTestLoop + RobustnessMetric on a fitted tiny I3D + HCN."""
import copy
import json
import pickle

import numpy as np
import pytest
import torch
from mmaction.evaluation.functional import top_k_accuracy
from mmengine.hooks import Hook
from robust_fixtures import (ALL_TARGETS, ALPHA, PatternClips, build_model,
                             build_runner, fit, preprocess)

from mmamr.attacks import CW, FGSM, PGD
from mmamr.engine import sample_generators
from mmamr.engine.robust_test_loop import Progress, parse_attacks

EPS16 = dict(rgb=16 / 255, skeleton=16 / 255)
ALPHA6 = dict(rgb=6 / 255, skeleton=6 / 255)
TOPK = (1, 2)
# Three steps of 6/255 can cross the 16/255 ball from a random start.
ATTACKS = [
    dict(type='PGD', steps=3, eps=EPS16, alpha=ALPHA6, random_start=True),
    dict(type='FGSM', eps=EPS16),
]
CLASSES = dict(PGD=PGD, FGSM=FGSM, CW=CW)


@pytest.fixture(scope='module')
def clips():
    return PatternClips()


@pytest.fixture(scope='module')
def model(clips):
    """Fitted: 100% clean accuracy, and 16/255 attacks break some."""
    return fit(build_model(), clips)


def run(model, clips, work_dir, attacks=ATTACKS, dump=True, **kwargs):
    """Run the loop; return (robustness.json, dumped per-sample dicts)."""
    metric = dict(topk=TOPK, **kwargs.pop('metric', {}))
    runner = build_runner(
        model, clips, work_dir, attacks, metric=metric, **kwargs)
    if dump:
        runner._test_evaluator = [
            runner._test_evaluator,
            dict(type='DumpResults', out_file_path=str(work_dir / 'd.pkl'))
        ]
    metrics = runner.test()
    with open(work_dir / 'robustness.json') as f:
        results = json.load(f)
    dumped = None
    if dump:
        with open(work_dir / 'd.pkl', 'rb') as f:
            dumped = pickle.load(f)
    return results, dumped, metrics


def direct(model, clips, cfg, target, seed=0, batch_size=2):
    """The loop's computation written out: the same batches, each
    attacked with per-sample generators seeded as the loop documents,
    then predicted: ``[N, K]`` scores in dataset order."""
    cfg = dict(cfg)
    attack = CLASSES[cfg.pop('type')](targets=target, **cfg)
    scores = []
    for start in range(0, len(clips), batch_size):
        items = clips.items[start:start + batch_size]
        inputs, labels = preprocess(model, items)
        keys = [f'frame_dir={i["data_samples"].frame_dir}' for i in items]
        adv = attack(
            model, inputs, labels, generator=sample_generators(seed, keys))
        with torch.no_grad():
            preds = model(
                adv, [i['data_samples'].clone() for i in items],
                mode='predict')
        scores += [p.pred_score for p in preds]
    return torch.stack(scores)


def accuracy(scores, labels, k):
    """mmaction2's own top-k accuracy, in %."""
    return 100 * top_k_accuracy(scores.numpy(), labels, (k, ))[0]


def test_every_column_equals_a_direct_attack(model, clips, tmp_path):
    results, dumped, metrics = run(model, clips, tmp_path)
    labels = [int(item['data_samples'].gt_label) for item in clips.items]
    assert results['num_samples'] == len(clips) == len(dumped)
    assert results['clean']['top1'] == 100.
    assert metrics['robust/clean/top1'] == 100.
    broken = 0
    for cfg, name in zip(ATTACKS, ('PGD3', 'FGSM')):
        for target in ALL_TARGETS:
            expected = direct(model, clips, cfg, target)
            got = torch.stack(
                [d['adv_pred_scores'][f'{name}/{target}'] for d in dumped])
            # The same float operations in the same order: equal.
            assert torch.equal(got, expected), (name, target)
            for k in TOPK:
                column = results['attacks'][name]['columns'][target]
                assert column[f'top{k}'] == accuracy(expected, labels, k)
                assert metrics[f'robust/{name}/{target}/top{k}'] == (
                    column[f'top{k}'])
            broken += results['attacks'][name]['columns'][target]['top1'] < 100
        avg = results['attacks'][name]['avg']['top1']
        assert avg == pytest.approx(
            np.mean([
                results['attacks'][name]['columns'][t]['top1']
                for t in ALL_TARGETS
            ]))
    # Not vacuous: the attacks do break the model somewhere.
    assert broken >= 3
    # Worst case over the two attacks: per sample, not per column.
    worst = results['attacks']['worst-case']['columns']
    for target in ALL_TARGETS:
        hits = np.ones(len(clips), bool)
        for name in ('PGD3', 'FGSM'):
            scores = torch.stack(
                [d['adv_pred_scores'][f'{name}/{target}'] for d in dumped])
            hits &= scores.argmax(1).numpy() == np.array(labels)
        assert worst[target]['top1'] == 100 * hits.mean()
    md = (tmp_path / 'robustness.md').read_text()
    assert '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI |' in md
    assert f'| tiny | 100.00 | {results["attacks"]["PGD3"]["columns"]["rgb"]["top1"]:.2f}' in md  # noqa: E501


def test_model_ignoring_the_skeleton_has_skeleton_column_equal_clean(
        model, clips, tmp_path):
    blind = copy.deepcopy(model)
    skeleton_dim = blind.branches['skeleton'].feat_dim
    with torch.no_grad():
        blind.cls_head.fc_cls.weight[:, -skeleton_dim:] = 0
    results, dumped, _ = run(blind, clips, tmp_path)
    for name in ('PGD3', 'FGSM'):
        columns = results['attacks'][name]['columns']
        assert columns['skeleton'] == results['clean']
        for d in dumped:
            assert torch.equal(d['adv_pred_scores'][f'{name}/skeleton'],
                               d['pred_score'])
    # The RGB half still matters and is attacked.
    assert results['attacks']['PGD3']['columns']['rgb']['top1'] < (
        results['clean']['top1'])


def test_zero_budget_gives_clean_accuracy_in_every_column(
        model, clips, tmp_path):
    zero = dict(rgb=0., skeleton=0.)
    attacks = [
        dict(type='PGD', steps=2, eps=zero, alpha=ALPHA),
        dict(type='FGSM', eps=zero),
        dict(type='CW', steps=2, eps=zero, alpha=ALPHA),
    ]
    results, dumped, _ = run(model, clips, tmp_path, attacks=attacks)
    assert set(results['attacks']) == {'PGD2', 'FGSM', 'CW2', 'worst-case'}
    for entry in results['attacks'].values():
        for column in entry['columns'].values():
            assert column == results['clean']
        assert entry['avg'] == results['clean']
    for d in dumped:
        for scores in d['adv_pred_scores'].values():
            assert torch.equal(scores, d['pred_score'])


def test_multi_clip_samples(model, tmp_path):
    """Samples of 3 clips: the attack perturbs all of them (it ascends
    the loss of the clip-averaged logits), predictions average them."""
    clips = PatternClips(num=4, views=3)
    results, dumped, _ = run(model, clips, tmp_path, attacks=ATTACKS[1:])
    labels = [int(item['data_samples'].gt_label) for item in clips.items]
    for target in ALL_TARGETS:
        expected = direct(model, clips, ATTACKS[1], target)
        got = torch.stack(
            [d['adv_pred_scores'][f'FGSM/{target}'] for d in dumped])
        assert torch.equal(got, expected)
        assert results['attacks']['FGSM']['columns'][target]['top1'] == (
            accuracy(expected, labels, 1))
    assert not torch.equal(got, torch.stack([d['pred_score'] for d in dumped]))


@pytest.mark.parametrize('modality', ['rgb', 'skeleton'])
def test_unimodal_model_gets_only_its_own_column(modality, tmp_path):
    clips = PatternClips(modalities=(modality, ))
    unimodal = fit(
        build_model(rgb=modality == 'rgb', skeleton=modality == 'skeleton'),
        clips)
    results, dumped, _ = run(
        unimodal, clips, tmp_path, attacks=ATTACKS[:1], dump=True)
    entry = results['attacks']['PGD3']
    assert list(entry['columns']) == [modality]
    assert entry['avg_columns'] == [modality]
    assert entry['avg'] == entry['columns'][modality]
    assert results['modalities'] == [modality]
    assert set(dumped[0]['adv_pred_scores']) == {f'PGD3/{modality}'}
    expected = direct(unimodal, clips, ATTACKS[0], modality)
    labels = [int(i['data_samples'].gt_label) for i in clips.items]
    assert entry['columns'][modality]['top1'] == accuracy(expected, labels, 1)
    row = [
        line for line in (tmp_path / 'robustness.md').read_text().split('\n')
        if line.startswith('| tiny')
    ][0]
    assert row.count('–') == 3  # two missing columns and RI


class BatchGuard(Hook):
    """Checks that the loop leaves each data batch and the model as they
    were, and that the attacks accumulate no parameter gradients."""

    def __init__(self):
        self.copies, self.checked = {}, 0

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self.copies[batch_idx] = copy.deepcopy(data_batch)

    def after_test_iter(self,
                        runner,
                        batch_idx,
                        data_batch=None,
                        outputs=None):
        before = self.copies.pop(batch_idx)
        for m, xs in before['inputs'].items():
            for x, y in zip(xs, data_batch['inputs'][m]):
                assert torch.equal(x, y) and x.dtype == y.dtype
        for a, b in zip(before['data_samples'], data_batch['data_samples']):
            assert set(a.keys()) == set(b.keys())
            assert 'pred_score' not in b
        model = runner.model
        assert not model.training
        assert all(p.grad is None for p in model.parameters())
        self.checked += 1


def test_batch_model_and_gradients_are_left_alone(model, clips, tmp_path):
    runner = build_runner(
        model, clips, tmp_path, ATTACKS, metric=dict(topk=TOPK))
    guard = BatchGuard()
    runner.register_hook(guard)
    # mmengine tests under no_grad; the loop must enable grad itself.
    with torch.no_grad():
        metrics = runner.test()
    assert guard.checked == 4
    assert metrics['robust/PGD3/both/top1'] < 100


def test_results_do_not_depend_on_batching_or_order(model, clips, tmp_path):
    """Per-sample seeding: batch size 2, batch size 3 (a short last
    batch) and the data in reverse order give each sample the same
    scores. Equal up to float rounding only: batches of other sizes round
    differently, and a sign step can turn that into an α step on a
    near-zero gradient component (see docs/robustness_evaluation.md)."""
    reverse = copy.copy(clips)
    reverse.items = clips.items[::-1]
    runs = {}
    for key, data, kwargs in (('b2', clips, dict(batch_size=2)),
                              ('b3', clips, dict(batch_size=3)),
                              ('reverse', reverse, dict(batch_size=2))):
        results, dumped, _ = run(model, data, tmp_path / key, **kwargs)
        by_clip = {d['frame_dir']: d['adv_pred_scores'] for d in dumped}
        runs[key] = (results, by_clip)
    for key in ('b3', 'reverse'):
        assert runs[key][0]['attacks'] == runs['b2'][0]['attacks']
        for clip, scores in runs['b2'][1].items():
            for name, score in scores.items():
                torch.testing.assert_close(
                    runs[key][1][clip][name], score, atol=1e-5, rtol=1e-4)
    # Another seed moves the random starts (PGD), hence the scores.
    _, other, _ = run(model, clips, tmp_path / 'seed1', seed=1)
    moved = [
        not torch.allclose(
            d['adv_pred_scores']['PGD3/rgb'],
            runs['b2'][1][d['frame_dir']]['PGD3/rgb'],
            atol=1e-3) for d in other
    ]
    assert any(moved)


def test_relative_improvement_against_a_baseline(model, clips, tmp_path):
    base, _, _ = run(model, clips, tmp_path / 'none', dump=False)
    base_file = tmp_path / 'none' / 'robustness.json'
    results, _, metrics = run(
        model,
        clips,
        tmp_path / 'again',
        dump=False,
        metric=dict(baseline=str(base_file)))
    # The same model against itself: RI = 0 for every attack.
    for name in ('PGD3', 'FGSM', 'worst-case'):
        assert results['attacks'][name]['ri'] == dict(top1=0., top2=0.)
        assert metrics[f'robust/{name}/ri/top1'] == 0.
    assert results['baseline'] == dict(file=str(base_file), name='tiny')


def test_out_dir_and_a_baseline_attacked_otherwise(model, clips, tmp_path,
                                                   monkeypatch):
    """The files go to test_cfg.out_dir; RI against a baseline whose
    attack had other settings is computed, with a warning."""
    base, _, _ = run(
        model, clips, tmp_path / 'none', attacks=ATTACKS[1:], dump=False)
    base['attacks']['FGSM']['config']['eps'] = dict(rgb=0.01, skeleton=0.01)
    base_file = tmp_path / 'none' / 'robustness.json'
    base_file.write_text(json.dumps(base))
    lines = []
    monkeypatch.setattr('mmamr.engine.robust_test_loop.print_log',
                        lambda msg, *a, **k: lines.append(msg))
    out_dir = tmp_path / 'elsewhere'
    runner = build_runner(
        model,
        clips,
        tmp_path / 'work',
        ATTACKS[1:],
        metric=dict(topk=TOPK, baseline=str(base_file)),
        loop=dict(out_dir=str(out_dir), name='again'))
    metrics = runner.test()
    assert metrics['robust/FGSM/ri/top1'] == 0.
    assert not (tmp_path / 'work' / 'robustness.json').exists()
    results = json.loads((out_dir / 'robustness.json').read_text())
    assert results['name'] == 'again'
    assert results['attacks']['FGSM']['config'] == dict(type='FGSM', eps=EPS16)
    assert results['attacks']['FGSM']['ri'] == dict(top1=0., top2=0.)
    assert '| tiny | 100.00 |' in (out_dir / 'robustness.md').read_text()
    notes = [line for line in lines if 'configured differently' in line]
    assert len(notes) == 1 and notes[0].startswith('FGSM is configured')


def test_configuration_errors(model, clips, tmp_path):
    with pytest.raises(ValueError, match='needs a RobustnessMetric'):
        runner = build_runner(model, clips, tmp_path, ATTACKS)
        runner._test_evaluator = dict(type='AccMetric')
        runner.test()
    with pytest.raises(ValueError, match='one only'):
        runner = build_runner(model, clips, tmp_path, ATTACKS)
        runner._test_evaluator = [runner._test_evaluator] * 2
        runner.test()
    bad = [
        ([dict(ATTACKS[0], targets='rgb')], 'set test_cfg.targets'),
        ([ATTACKS[1], dict(ATTACKS[1])], 'two attacks are named'),
        ([dict(ATTACKS[1], name='a/b')], 'without "/"'),
        ([dict(ATTACKS[1], name='reliance')], 'is reserved'),
        ([dict(type='PGD', eps=dict(rgb=-1.))], r'attacks\[0\]'),
    ]
    for attacks, message in bad:
        with pytest.raises((ValueError, TypeError), match=message):
            build_runner(model, clips, tmp_path, attacks).test()
    with pytest.raises(ValueError, match='non-empty list'):
        parse_attacks(dict(type='PGD'))
    with pytest.raises(ValueError, match='choose from'):
        build_runner(model, clips, tmp_path, ATTACKS, targets=['rgbs']).test()
    rgb_only = build_model(skeleton=False)
    with pytest.raises(ValueError, match='None of the targets'):
        build_runner(
            rgb_only,
            PatternClips(modalities=('rgb', )),
            tmp_path,
            ATTACKS,
            targets=['skeleton']).test()


def test_progress_lines_are_throttled(monkeypatch):
    lines = []
    monkeypatch.setattr('mmamr.engine.robust_test_loop.print_log',
                        lambda msg, *a, **k: lines.append(msg))
    progress = Progress(total=100, interval=3600., combos=6)
    for done in range(1, 101):
        progress.update(done)
    assert len(lines) == 2
    assert lines[0].startswith('Robust test [1/100] batches, 6 attack')
    assert 'ETA' in lines[0] and lines[1].startswith('Robust test [100/100]')
