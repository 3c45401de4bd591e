# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/dist_train.sh`` / ``dist_test.sh`` on CPU (gloo) against 1 process.

Why the two training runs must agree: the train set is 4 samples; mmengine's
``DefaultSampler`` (``shuffle=True``, the same ``seed`` everywhere, hence
the same permutation ``p`` of ``range(4)`` in every process) gives rank
``r`` of ``w`` the indices ``p[r::w]``, so with 2 processes x batch 2 rank 0
sees ``{p[0], p[2]}`` and rank 1 ``{p[1], p[3]}``, and 1 process x batch 4
sees ``{p[0], ..., p[3]}``: the same global batch, one optimizer step per
epoch. The loss is the batch mean and DDP averages gradients over ranks, so
the 2-process gradient is the mean over the 4 samples, the 1-process one
too; with the pipeline, dropout and BatchNorm statistics made deterministic
(see ``conftest.DETERMINISTIC_MODEL``) and both runs starting from the same
weights, the updates agree up to float summation order. A custom
``train_step`` silently bypassed by ``MMDistributedDataParallel``, a
gradient that is not averaged, or ranks that see the wrong samples make
them disagree.
"""
import pickle
import re

import numpy as np
import pytest
import torch
from conftest import (DETERMINISTIC_MODEL, SEED, data_options, load_checkpoint,
                      run_tool)

pytestmark = pytest.mark.slow

ATOL, RTOL = 1e-5, 1e-4


def train_options(data, batch, init_ckpt):
    return data_options(data, train_batch=batch, train_samples=4) + [
        'train_cfg.max_epochs=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1',
        f'load_from={init_ckpt}',
    ] + DETERMINISTIC_MODEL + [
        # After DETERMINISTIC_MODEL (the last value of a key wins): one
        # step this large moves every weight far beyond ATOL.
        'optim_wrapper.optimizer.lr=0.5',
    ]


@pytest.fixture(scope='module')
def init_checkpoint(deterministic_config, tmp_path_factory):
    """Initial weights shared by both runs (``load_from``).

    Without it each run initialises from the seed on its own; a common
    starting point makes the comparison about the training step only and
    gives the baseline for "the weights did change".
    """
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.runner import set_random_seed

    import mmamr  # noqa: F401
    cfg = Config.fromfile(deterministic_config)
    set_random_seed(SEED)
    model = MODELS.build(cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('init') / 'init.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(path))
    return path


@pytest.fixture(scope='module')
def trained(synthetic_data, deterministic_config, init_checkpoint,
            tmp_path_factory):
    """One step with 2 processes x 2 and with 1 process x 4."""
    work = tmp_path_factory.mktemp('dist_train')
    dist_dir, single_dir = work / 'dist', work / 'single'
    dist = run_tool([
        'tools/dist_train.sh', deterministic_config, 2, '--work-dir',
        dist_dir, '--no-validate', '--seed', SEED, '--cfg-options'
    ] + train_options(synthetic_data, 2, init_checkpoint))
    single = run_tool([
        'tools/train.py', deterministic_config, '--work-dir', single_dir,
        '--no-validate', '--seed', SEED, '--cfg-options'
    ] + train_options(synthetic_data, 4, init_checkpoint))
    return dict(
        dist=dist,
        single=single,
        dist_ckpt=dist_dir / 'epoch_1.pth',
        single_ckpt=single_dir / 'epoch_1.pth',
        dist_dir=dist_dir,
        single_dir=single_dir)


def test_dist_train_ran_two_gloo_processes(trained):
    log = trained['dist'].stdout + trained['dist'].stderr
    assert 'Distributed training: True' in log, log[-3000:]
    assert re.search(r'GPU number: 2\b', log), log[-3000:]
    assert "'backend': 'gloo'" in log, log[-3000:]
    single_log = trained['single'].stdout + trained['single'].stderr
    assert 'Distributed training: False' in single_log, single_log[-3000:]
    for key in ('dist', 'single'):
        log = trained[key].stdout + trained[key].stderr
        # Exactly one optimizer step: "Epoch(train) [1][1/1]".
        assert re.search(r'Epoch\(train\)\s+\[1\]\[1/1\]', log), log[-3000:]
        meta = load_checkpoint(trained[f'{key}_ckpt'])['meta']
        assert (meta['epoch'], meta['iter']) == (1, 1)
    cfg_text = load_checkpoint(trained['dist_ckpt'])['meta']['cfg']
    assert "launcher = 'pytorch'" in cfg_text
    assert "backend='gloo'" in cfg_text


BUFFER_SUFFIXES = ('running_mean', 'running_var', 'num_batches_tracked')


def test_dist_step_equals_single_process_step(trained, init_checkpoint):
    init = load_checkpoint(init_checkpoint)['state_dict']
    dist_ckpt = load_checkpoint(trained['dist_ckpt'])
    single_ckpt = load_checkpoint(trained['single_ckpt'])
    dist, single = dist_ckpt['state_dict'], single_ckpt['state_dict']
    assert dist.keys() == single.keys() == init.keys()
    for name, value in single.items():
        torch.testing.assert_close(
            dist[name],
            value,
            atol=ATOL,
            rtol=RTOL,
            msg=lambda m: f'{name}: {m}')
    # Trainable parameters, in the optimizer's order (model.parameters()).
    params = [n for n in init if not n.endswith(BUFFER_SUFFIXES)]
    lr, wd = 0.5, 0.0005
    group = single_ckpt['optimizer']['param_groups'][0]
    assert (group['lr'], group['weight_decay']) == (lr, wd)
    states = {}
    for key, ckpt in (('dist', dist_ckpt), ('single', single_ckpt)):
        state = ckpt['optimizer']['state']
        assert sorted(state) == list(range(len(params))), key
        states[key] = [state[i]['momentum_buffer'] for i in range(len(params))]
    for i, name in enumerate(params):
        # The weights did move, by lr x the first momentum buffer (which is
        # the gradient plus weight decay).
        step = single[name] - init[name]
        assert step.abs().max() > 0, f'{name} did not change'
        torch.testing.assert_close(
            step, -lr * states['single'][i], atol=1e-6, rtol=1e-3)
        # The gradients agree to float summation order: the check that
        # matters, as it does not depend on the size of lr.
        grad_single = states['single'][i] - wd * init[name]
        grad_dist = states['dist'][i] - wd * init[name]
        norm = grad_single.norm()
        assert norm > 0, f'{name} got no gradient'
        err = (grad_dist - grad_single).norm() / norm
        assert err < 1e-3, f'{name}: relative gradient difference {err:.2e}'


def accuracy_from_log(text: str) -> float:
    matches = re.findall(r'Epoch\(test\).*acc/top1: ([0-9.]+)', text)
    assert matches, text[-3000:]
    return float(matches[-1])


def test_dist_test_equals_single_process_test(trained, synthetic_data,
                                              deterministic_config):
    ckpt = trained['single_ckpt']
    work = trained['single_dir'].parent / 'test'
    opts = data_options(synthetic_data, test_batch=2, test_samples=7)
    dumps, accs = {}, {}
    for key, tool in (('dist', ['tools/dist_test.sh', deterministic_config,
                                ckpt, 2]),
                      ('single', ['tools/test.py', deterministic_config,
                                  ckpt])):
        dumps[key] = work / f'{key}.pkl'
        proc = run_tool(tool + [
            '--work-dir', work / key, '--dump', dumps[key], '--cfg-options'
        ] + opts)
        accs[key] = accuracy_from_log(proc.stdout + proc.stderr)
    assert accs['dist'] == accs['single']
    # Per-sample predictions: 7 samples on 2 ranks (padded to 8), gathered
    # in dataset order without the padding.
    results = {}
    for key, path in dumps.items():
        with open(path, 'rb') as f:
            results[key] = pickle.load(f)
    assert len(results['single']) == len(results['dist']) == 7
    labels = []
    for a, b in zip(results['single'], results['dist']):
        assert int(a['gt_label']) == int(b['gt_label'])
        torch.testing.assert_close(
            b['pred_score'], a['pred_score'], atol=ATOL, rtol=RTOL)
        labels.append(int(a['gt_label']))
    # The logged accuracy is the accuracy of these predictions.
    preds = [int(r['pred_score'].argmax()) for r in results['single']]
    assert accs['single'] == pytest.approx(
        np.mean(np.array(preds) == np.array(labels)), abs=1e-4)
    # Not one sample seven times: the slice spans several classes.
    assert len(set(labels)) > 1
