# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/train.py --resume``: an interrupted run continues exactly.

Two epochs straight through must end where one epoch plus a resumed second
epoch ends: same weights and the same SGD momentum buffers. With the
deterministic settings of ``conftest`` (val pipeline for training, no
dropout) the only state that carries over between epochs is what the
checkpoint holds (weights, BatchNorm statistics, optimizer, scheduler, the
sampler's epoch), so a resume that drops any of it (fresh momentum, the
wrong epoch's shuffle, restarting at epoch 1, training from scratch) ends
elsewhere.
"""
import re
import shutil

import pytest
import torch
from conftest import (DETERMINISTIC_MODEL, SEED, data_options, load_checkpoint,
                      run_tool)

pytestmark = pytest.mark.slow

ATOL, RTOL = 1e-5, 1e-4


def train(config, data, work_dir, max_epochs, *extra):
    """8 samples x batch 4 = 2 steps per epoch, a checkpoint every epoch."""
    return run_tool([
        'tools/train.py', config, '--work-dir', work_dir, '--no-validate',
        '--seed', SEED, *extra, '--cfg-options'
    ] + data_options(data, train_batch=4, train_samples=8) + [
        f'train_cfg.max_epochs={max_epochs}',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1',
        # The schedule of the 2-epoch run in every run: a scheduler's end
        # defaults to the run's max_epochs and is restored from the
        # checkpoint, so a 1-epoch run would otherwise stop annealing the
        # lr of its resumed continuation after epoch 1.
        'param_scheduler.0.end=2',
    ] + DETERMINISTIC_MODEL)


def log_of(proc):
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def runs(synthetic_data, deterministic_config, tmp_path_factory):
    work = tmp_path_factory.mktemp('resume')
    straight = train(deterministic_config, synthetic_data, work / 'straight',
                     2)
    first = train(deterministic_config, synthetic_data, work / 'resumed', 1)
    epoch1 = work / 'epoch_1_copy.pth'
    shutil.copy(work / 'resumed' / 'epoch_1.pth', epoch1)
    # --resume without a path: the latest checkpoint of the work dir.
    second = train(deterministic_config, synthetic_data, work / 'resumed', 2,
                   '--resume')
    return dict(
        work=work,
        straight=straight,
        first=first,
        second=second,
        epoch1=epoch1,
        straight_ckpt=work / 'straight' / 'epoch_2.pth',
        resumed_ckpt=work / 'resumed' / 'epoch_2.pth')


def test_resumed_run_starts_at_epoch_2(runs):
    first, second = log_of(runs['first']), log_of(runs['second'])
    assert re.search(r'Epoch\(train\)\s+\[1\]\[2/2\]', first), first[-3000:]
    assert 'resumed epoch: 1, iter: 2' in second, second[-3000:]
    assert re.search(r'Epoch\(train\)\s+\[2\]\[1/2\]', second), second[-3000:]
    assert re.search(r'Epoch\(train\)\s+\[2\]\[2/2\]', second), second[-3000:]
    assert not re.search(r'Epoch\(train\)\s+\[1\]', second), second[-3000:]
    meta = load_checkpoint(runs['resumed_ckpt'])['meta']
    assert (meta['epoch'], meta['iter']) == (2, 4)
    # The epoch-1 checkpoint was not rewritten by the second invocation.
    assert (runs['work'] / 'resumed' / 'epoch_1.pth').read_bytes() == \
        runs['epoch1'].read_bytes()


def momentum_buffers(ckpt):
    state = ckpt['optimizer']['state']
    assert len(state) > 0
    return [state[i]['momentum_buffer'] for i in sorted(state)]


def test_resumed_run_ends_where_the_uninterrupted_run_ends(runs):
    straight = load_checkpoint(runs['straight_ckpt'])
    resumed = load_checkpoint(runs['resumed_ckpt'])
    epoch1 = load_checkpoint(runs['epoch1'])
    assert straight['state_dict'].keys() == resumed['state_dict'].keys()
    moved = 0
    for name, value in straight['state_dict'].items():
        torch.testing.assert_close(
            resumed['state_dict'][name],
            value,
            atol=ATOL,
            rtol=RTOL,
            msg=lambda m: f'{name}: {m}')
        if value.is_floating_point():
            moved += bool((value - epoch1['state_dict'][name]).abs().max()
                          > 0)
    # Epoch 2 did train (the comparison is not of two copies of epoch 1).
    assert moved > len(straight['state_dict']) // 3
    # Momentum: what the resumed run loaded from epoch 1 and then updated
    # twice. Were it reset at the resume, these would differ by 0.9^2 x
    # the epoch-1 buffers, far beyond the tolerance.
    final_straight = momentum_buffers(straight)
    final_resumed = momentum_buffers(resumed)
    start = momentum_buffers(epoch1)
    assert len(final_straight) == len(final_resumed) == len(start)
    changed = 0
    for a, b, s in zip(final_straight, final_resumed, start):
        torch.testing.assert_close(b, a, atol=1e-7, rtol=1e-4)
        changed += bool((a - s).abs().max() > 0)
    assert changed == len(start)
    # The learning rate schedule continued, too.
    lr = [c['optimizer']['param_groups'][0]['lr']
          for c in (straight, resumed, epoch1)]
    assert lr[0] == pytest.approx(lr[1], rel=1e-9) and lr[0] < lr[2]


def test_resume_from_truncated_checkpoint_fails(runs, synthetic_data,
                                                deterministic_config):
    corrupt = runs['work'] / 'truncated.pth'
    data = runs['epoch1'].read_bytes()
    corrupt.write_bytes(data[:len(data) // 2])
    work_dir = runs['work'] / 'corrupt'
    proc = run_tool([
        'tools/train.py', deterministic_config, '--work-dir', work_dir,
        '--no-validate', '--seed', SEED, '--resume',
        str(corrupt), '--cfg-options'
    ] + data_options(synthetic_data, train_batch=4, train_samples=8) +
                    ['train_cfg.max_epochs=2'] + DETERMINISTIC_MODEL,
                    check=False)
    log = log_of(proc)
    assert proc.returncode != 0, log[-3000:]
    assert 'Traceback' in proc.stderr and str(corrupt) in log, log[-3000:]
    # Nothing was trained from scratch in its place.
    assert not re.search(r'Epoch\(train\)', log), log[-3000:]
    assert not list(work_dir.glob('*.pth'))
