# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/test.py`` / ``dist_test.sh`` robustness flags end to end on a
tiny checkpoint trained on the synthetic data (``-m slow``).

Why 2 processes must agree with 1: the random starts are drawn per
sample from a generator seeded by the sample's ``frame_dir`` (see
``mmamr.engine.sample_seeding``), not per batch, so the 2-process run
(rank 0: samples 0, 2, 4, 6; rank 1: 1, 3, 5 and a padded 0) starts
every sample where the 1-process run does; eval mode makes each
sample's attack independent of its batch; mmengine gathers the per-sample
hits in dataset order and drops the padding.
"""
import json
import pickle
import re

import pytest
import torch
from conftest import DETERMINISTIC_MODEL, data_options, run_tool

pytestmark = pytest.mark.slow

TEST_SAMPLES = 7


@pytest.fixture(scope='module')
def checkpoint(synthetic_data, deterministic_config, tmp_path_factory):
    """Ten epochs of Adam on the 40 clips (about 30 s): above the 10 %
    of chance on the test clips (71 % with the synthetic config of this
    commit), and attackable.

    BatchNorm statistics are frozen and dropout is off (conftest's
    ``DETERMINISTIC_MODEL`` without its SGD): I3D's BatchNorm momentum of
    0.01 leaves the running statistics near their init after 50 steps, so
    an eval-mode model trained with live statistics would be garbage.
    """
    work = tmp_path_factory.mktemp('robust_train')
    run_tool([
        'tools/train.py', deterministic_config, '--work-dir', work,
        '--no-validate', '--seed', 0, '--cfg-options'
    ] + data_options(synthetic_data, train_batch=8, train_samples=None) + [
        'train_cfg.max_epochs=10', 'default_hooks.checkpoint.interval=10'
    ] + [o for o in DETERMINISTIC_MODEL if 'optim' not in o])
    return work / 'epoch_10.pth'


def eval_options(data):
    return data_options(data, test_batch=2, test_samples=TEST_SAMPLES)


def robust_test(tool, config, ckpt, work, data, *flags):
    proc = run_tool(tool + [config, ckpt] + (['2'] if tool[0].endswith(
        '.sh') else []) + ['--work-dir', work] + list(flags) +
                    ['--cfg-options'] + eval_options(data))
    with open(work / 'robustness.json') as f:
        return json.load(f), proc.stdout + proc.stderr


def test_flags_clean_column_log_and_baseline(checkpoint, synthetic_data,
                                             deterministic_config, tmp_path):
    # The plain test of the same checkpoint: mmaction2's AccMetric.
    plain = run_tool([
        'tools/test.py', deterministic_config, checkpoint, '--work-dir',
        tmp_path / 'plain', '--cfg-options'
    ] + eval_options(synthetic_data))
    plain_acc = float(
        re.findall(r'acc/top1: ([0-9.]+)', plain.stdout + plain.stderr)[-1])

    flags = ['--attack', 'fgsm', 'pgd', '--steps', '2', '--targets', 'rgb',
             'skeleton', 'both']
    results, log = robust_test(['tools/test.py'], deterministic_config,
                               checkpoint, tmp_path / 'none', synthetic_data,
                               *flags)
    assert results['num_samples'] == TEST_SAMPLES
    assert results['name'] == 'c3d_hcn_synthetic_det'
    assert results['clean']['top1'] == pytest.approx(100 * plain_acc,
                                                     abs=1e-2)
    assert results['clean']['top1'] > 10  # trained: above chance
    assert set(results['attacks']) == {'FGSM', 'PGD2', 'worst-case'}
    pgd = results['attacks']['PGD2']
    assert pgd['config'] == dict(
        type='PGD',
        eps=dict(rgb=8 / 255, skeleton=8 / 255),
        steps=2,
        alpha=dict(rgb=2 / 255, skeleton=2 / 255),
        random_start=True)
    assert list(pgd['columns']) == ['rgb', 'skeleton', 'both']
    # The attacks bite (the RGB branch of this tiny model is fragile).
    assert pgd['columns']['rgb']['top1'] < results['clean']['top1']
    # An attack never helps a sample in the worst case of both.
    for target in ('rgb', 'skeleton', 'both'):
        worst = results['attacks']['worst-case']['columns'][target]['top1']
        assert worst <= min(results['attacks'][a]['columns'][target]['top1']
                            for a in ('FGSM', 'PGD2'))
    # The log: progress with ETA, the table, the metrics.
    assert re.search(r'Robust test \[4/4\] batches, 6 attack x target '
                     r'runs each; elapsed [0-9:]+, ETA 0:00:00', log)
    assert '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI |' in log
    assert re.search(r'robust/PGD2/both/top1: [0-9.]+', log)
    md = (tmp_path / 'none' / 'robustness.md').read_text()
    assert '| c3d_hcn_synthetic_det |' in md

    # The same model against itself as the baseline: RI = 0.
    baseline = tmp_path / 'none' / 'robustness.json'
    again, log = robust_test(['tools/test.py'], deterministic_config,
                             checkpoint, tmp_path / 'again', synthetic_data,
                             *flags, '--baseline', baseline)
    for name, entry in again['attacks'].items():
        assert entry['ri']['top1'] == pytest.approx(0., abs=1e-9), name
        assert entry['columns'] == results['attacks'][name]['columns']
    assert again['baseline']['file'] == str(baseline)


def test_eps_sweep_writes_curves_and_plot(checkpoint, synthetic_data,
                                          deterministic_config, tmp_path):
    results, _ = robust_test(['tools/test.py'], deterministic_config,
                             checkpoint, tmp_path, synthetic_data,
                             '--attack', 'fgsm', 'pgd', '--steps', '2',
                             '--targets', 'rgb', 'both', '--eps-sweep', '0',
                             '4', '16')
    assert len(results['attacks']) == 6  # no worst case over ε
    curves = json.loads((tmp_path / 'eps_sweep.json').read_text())
    assert set(curves['curves']) == {'FGSM', 'PGD2'}
    clean = results['clean']['top1']
    for attack, curve in curves['curves'].items():
        assert curve['eps'] == [0., 4., 16.]
        assert set(curve) == {'eps', 'rgb', 'both'}
        for target in ('rgb', 'both'):
            top1 = curve[target]['top1']
            # ε = 0 is the clean accuracy; a budget never raises it above.
            assert top1[0] == clean, (attack, target)
            assert max(top1) <= clean
            assert top1 == [
                results['attacks'][f'{attack}@eps={e}']['columns'][target]
                ['top1'] for e in ('0', '4', '16')
            ]
    with open(tmp_path / 'eps_sweep.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def test_two_processes_report_what_one_does(checkpoint, synthetic_data,
                                            deterministic_config, tmp_path):
    flags = ['--attack', 'pgd', 'fgsm', '--steps', '2', '--eps', '16']
    runs = {}
    for key, tool in (('dist', ['tools/dist_test.sh']), ('single',
                                                         ['tools/test.py'])):
        dump = tmp_path / f'{key}.pkl'
        results, log = robust_test(tool, deterministic_config, checkpoint,
                                   tmp_path / key, synthetic_data, *flags,
                                   '--dump', dump)
        with open(dump, 'rb') as f:
            runs[key] = (results, log, pickle.load(f))
    assert 'Distributed training: True' in runs['dist'][1]
    assert "'backend': 'gloo'" in runs['dist'][1]
    dist, single = runs['dist'][0], runs['single'][0]
    assert dist['clean'] == single['clean']
    assert dist['attacks'] == single['attacks']
    # Per sample, in dataset order, without the padded duplicate.
    assert len(runs['dist'][2]) == len(runs['single'][2]) == TEST_SAMPLES
    assert dist['per_sample'] == single['per_sample']
    assert dist['per_sample']['samples'] == [
        s['frame_dir'] for s in runs['single'][2]
    ]
    for a, b in zip(runs['single'][2], runs['dist'][2]):
        assert a['gt_label'] == b['gt_label']
        assert set(a['adv_pred_scores']) == set(b['adv_pred_scores']) == {
            f'{n}/{t}'
            for n in ('PGD2', 'FGSM') for t in ('rgb', 'skeleton', 'both')
        }
        for name, score in a['adv_pred_scores'].items():
            torch.testing.assert_close(
                b['adv_pred_scores'][name], score, atol=1e-5, rtol=1e-4)
    # Not vacuous: at ε = 16/255 the attacks change predictions.
    changed = sum(
        int(s['adv_pred_scores']['PGD2/both'].argmax() !=
            s['pred_score'].argmax()) for s in runs['single'][2])
    assert changed > 0
