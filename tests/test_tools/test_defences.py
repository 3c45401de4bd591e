# Copyright (c) mmamr contributors. All rights reserved.
"""The defence rows of Table 2 end to end on tiny synthetic data
(``-m slow``): train with MinSim, build ExFMem's dictionaries from the
checkpoint, and evaluate MinSim and MinSim+ExFMem under attack with
``tools/test.py``."""
import json

import pytest
import torch
from conftest import ROOT, data_options, load_checkpoint, run_tool

pytestmark = pytest.mark.slow

CONFIGS = ROOT / 'configs' / 'defences'
TRAIN_SAMPLES, TEST_SAMPLES = 8, 4
ATTACK = ['--attack', 'pgd', '--steps', '2', '--targets', 'rgb', 'skeleton',
          'both']


def options(data):
    return data_options(
        data,
        train_batch=4,
        train_samples=TRAIN_SAMPLES,
        test_batch=2,
        test_samples=TEST_SAMPLES)


@pytest.fixture(scope='module')
def minsim_run(synthetic_data, tmp_path_factory):
    """Two epochs of the MinSim config on 8 clips (about 15 s)."""
    work = tmp_path_factory.mktemp('minsim_train')
    run_tool([
        'tools/train.py', CONFIGS / 'minsim_c3d_hcn_synthetic.py',
        '--work-dir', work, '--no-validate', '--seed', 0, '--cfg-options'
    ] + options(synthetic_data) + [
        'train_cfg.max_epochs=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1'
    ])
    return work


def robust_test(config, checkpoint, work, data, check=True):
    proc = run_tool(['tools/test.py', config, checkpoint, '--work-dir', work] +
                    ATTACK + ['--cfg-options'] + options(data),
                    check=check)
    if not check:
        return proc
    with open(work / 'robustness.json') as f:
        return json.load(f)


def check_table(results):
    assert results['num_samples'] == TEST_SAMPLES
    pgd = results['attacks']['PGD2']
    assert list(pgd['columns']) == ['rgb', 'skeleton', 'both']
    for target, acc in pgd['columns'].items():
        assert 0 <= acc['top1'] <= 100, target


def test_minsim_trains_and_evaluates(minsim_run, synthetic_data, tmp_path):
    scalars = next(minsim_run.glob('*/vis_data/scalars.json')).read_text()
    logged = [json.loads(line) for line in scalars.splitlines()]
    minsim = [r['loss_minsim'] for r in logged if 'loss_minsim' in r]
    assert len(minsim) == 4  # 2 epochs x 2 iterations
    # The logged total is CE + MinSim (mmengine sums the "loss" keys).
    for r in logged:
        if 'loss_minsim' in r:
            assert r['loss'] == pytest.approx(
                r['loss_cls'] + r['loss_minsim'], abs=1e-3)
            assert -1 <= r['loss_minsim'] <= 1
    results = robust_test(CONFIGS / 'minsim_c3d_hcn_synthetic.py',
                          minsim_run / 'epoch_2.pth', tmp_path,
                          synthetic_data)
    check_table(results)
    assert results['name'] == 'minsim_c3d_hcn_synthetic'


def test_exfmem_dictionaries_then_attack(minsim_run, synthetic_data,
                                         tmp_path):
    config = CONFIGS / 'minsim_exfmem_c3d_hcn_synthetic.py'
    trained = minsim_run / 'epoch_2.pth'
    # Without dictionaries the evaluation refuses to run.
    proc = robust_test(config, trained, tmp_path / 'unbuilt',
                       synthetic_data, check=False)
    assert proc.returncode != 0
    assert 'ExFMem has no feature dictionaries' in proc.stderr
    assert 'tools/build_exfmem.py' in proc.stderr

    built = tmp_path / 'exfmem.pth'
    run_tool([
        'tools/build_exfmem.py', config, trained, '--out', built,
        '--num-atoms', TRAIN_SAMPLES, '--num-workers', 0, '--device', 'cpu',
        '--cfg-options'
    ] + options(synthetic_data))
    ckpt = load_checkpoint(built)
    source = load_checkpoint(trained)
    state = ckpt['state_dict']
    # StagedC3D at base width 16: 128-wide RGB features; the synthetic
    # HCN's 64.
    assert state['feature_defence.atoms_rgb'].shape == (128, TRAIN_SAMPLES)
    assert state['feature_defence.atoms_skeleton'].shape == (64,
                                                             TRAIN_SAMPLES)
    assert bool(state['feature_defence.built'])
    assert ckpt['meta']['exfmem']['num_atoms'] == TRAIN_SAMPLES
    # The model's weights are the trained ones, untouched.
    for key, value in source['state_dict'].items():
        assert torch.equal(state[key], value), key
    # Every training clip is an atom (8 of 8): distinct columns.
    atoms = state['feature_defence.atoms_skeleton']
    assert torch.linalg.matrix_rank(atoms) > 1

    results = robust_test(config, built, tmp_path / 'built', synthetic_data)
    check_table(results)
    assert results['name'] == 'minsim_exfmem_c3d_hcn_synthetic'

    # --num-atoms above the training set: a clear error.
    proc = run_tool([
        'tools/build_exfmem.py', config, trained, '--out',
        tmp_path / 'too_many.pth', '--num-atoms', TRAIN_SAMPLES + 1,
        '--num-workers', 0, '--device', 'cpu', '--cfg-options'
    ] + options(synthetic_data),
                    check=False)
    assert proc.returncode != 0
    assert 'fewer than num_atoms=9' in proc.stderr
    assert not (tmp_path / 'too_many.pth').exists()
