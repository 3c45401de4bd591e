# Copyright (c) mmamr contributors. All rights reserved.
"""AMR adversarial training through the real tools.

1. ``tools/dist_train.sh`` with 2 CPU (gloo) processes x batch 2 equals
   ``tools/train.py`` with 1 process x batch 4, for AMR training. This is
   the proof that the adversarial examples are made under DDP (which
   never calls an overridden ``train_step``, DESIGN.md §3): were they
   skipped, or made on the wrapper with parameter gradients, the two runs
   would disagree (the single-process run certainly attacks: its log has
   ``loss_adv``). Why the global batches agree: see ``test_dist_train``.
   PGD without random start here, so that a sample's adversarial example
   does not depend on which rank draws its noise; with frozen BatchNorm
   statistics (``conftest.DETERMINISTIC_MODEL``) the attack in eval mode
   treats the samples independently.
2. ``--resume`` in the middle of AMR training (random starts on)
   continues identically: the same losses at every later step and the
   same final weights and momentum as an uninterrupted run. The random
   starts are drawn from a generator seeded by (seed, iteration, rank);
   drawn from the global RNG, they would differ after the resume (which
   reseeds it).
"""
import re
import shutil

import pytest
import torch
from conftest import (CONFIG, DETERMINISTIC_MODEL, ROOT, SEED, data_options,
                      load_checkpoint, run_tool)

pytestmark = pytest.mark.slow

AMR_CONFIG = ROOT / 'configs' / 'amr_c3d_hcn_synthetic.py'
ATOL, RTOL = 1e-5, 1e-4
# PGD-2 instead of PGD-10 (the loop is the same, the runs 4x shorter).
FAST_ATTACK = ['model.train_cfg.attack.steps=2']


@pytest.fixture(scope='module')
def amr_config(deterministic_config, tmp_path_factory):
    """The AMR synthetic config, trained on the deterministic pipeline."""
    from conftest import DETERMINISTIC_CONFIG
    text = DETERMINISTIC_CONFIG.replace(repr(str(CONFIG)),
                                        repr(str(AMR_CONFIG)))
    assert text != DETERMINISTIC_CONFIG
    path = tmp_path_factory.mktemp('amr_configs') / 'amr_synthetic_det.py'
    path.write_text(text)
    return str(path)


@pytest.fixture(scope='module')
def init_checkpoint(amr_config, tmp_path_factory):
    """Common initial weights of the compared runs (AMR weights included),
    with non-trivial W so that the reweighting matters."""
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.runner import set_random_seed

    import mmamr  # noqa: F401
    cfg = Config.fromfile(amr_config)
    cfg.model.amr.init = 'uniform'
    set_random_seed(SEED)
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert len(model.between_stages) == 3
    path = tmp_path_factory.mktemp('amr_init') / 'init.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), str(path))
    return path


def log_of(proc):
    return proc.stdout + proc.stderr


def step_losses(log, epoch):
    """``{iteration: (loss, loss_clean, loss_adv, loss_aux)}`` of an epoch
    from the logger's lines (LoggerHook interval 1)."""
    out = dict()
    pattern = (rf'Epoch\(train\)\s+\[{epoch}\]\[\s*(\d+)/\d+\].*?'
               r'loss: ([0-9.]+).*?loss_clean: ([0-9.]+).*?'
               r'loss_adv: ([0-9.]+).*?loss_aux: ([0-9.]+)')
    for match in re.finditer(pattern, log):
        out[int(match.group(1))] = tuple(map(float, match.groups()[1:]))
    return out


@pytest.fixture(scope='module')
def dist_runs(synthetic_data, amr_config, init_checkpoint, tmp_path_factory):
    work = tmp_path_factory.mktemp('amr_dist')
    runs = dict()
    for key, tool, batch in (('dist', ['tools/dist_train.sh', amr_config, 2],
                              2), ('single', ['tools/train.py',
                                              amr_config], 4)):
        runs[key] = run_tool(tool + [
            '--work-dir', work / key, '--no-validate', '--seed', SEED,
            '--cfg-options'
        ] + data_options(synthetic_data, train_batch=batch, train_samples=4) +
                             [
                                 'train_cfg.max_epochs=1',
                                 'default_hooks.checkpoint.interval=1',
                                 'default_hooks.logger.interval=1',
                                 f'load_from={init_checkpoint}',
                                 'model.train_cfg.attack.random_start=False',
                             ] + FAST_ATTACK + DETERMINISTIC_MODEL +
                             ['optim_wrapper.optimizer.lr=0.5'],
                             timeout=600)
        runs[f'{key}_ckpt'] = work / key / 'epoch_1.pth'
    return runs


def test_dist_amr_training_ran_the_amr_objective_in_two_processes(dist_runs):
    dist, single = log_of(dist_runs['dist']), log_of(dist_runs['single'])
    assert 'Distributed training: True' in dist, dist[-3000:]
    assert re.search(r'GPU number: 2\b', dist), dist[-3000:]
    for log in (dist, single):
        assert "Training objective: AdversarialTraining(mode='amr'" in log
        losses = step_losses(log, 1)
        assert list(losses) == [1], log[-3000:]
        loss, clean, adv, aux = losses[1]
        assert adv > 0 and aux > 0
        assert loss == pytest.approx(clean + adv + aux, abs=2e-4)
        # AMRWeightsHook's means are in the log line.
        assert re.search(r'amr3/w_skeleton: [0-9.]+', log), log[-3000:]


def test_dist_amr_step_equals_single_process_step(dist_runs,
                                                  init_checkpoint):
    init = load_checkpoint(init_checkpoint)['state_dict']
    dist = load_checkpoint(dist_runs['dist_ckpt'])
    single = load_checkpoint(dist_runs['single_ckpt'])
    assert dist['state_dict'].keys() == single['state_dict'].keys()
    for name, value in single['state_dict'].items():
        torch.testing.assert_close(
            dist['state_dict'][name],
            value,
            atol=ATOL,
            rtol=RTOL,
            msg=lambda m: f'{name}: {m}')
    # Gradients (first momentum buffers minus weight decay) agree, and the
    # AMR weights and auxiliary heads did get some.
    params = [n for n in init if not n.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked'))]
    wd = 0.0005
    for ckpt in (dist, single):
        assert sorted(ckpt['optimizer']['state']) == list(range(len(params)))
    for i, name in enumerate(params):
        grads = [
            ckpt['optimizer']['state'][i]['momentum_buffer'] - wd * init[name]
            for ckpt in (dist, single)
        ]
        norm = grads[1].norm()
        if 'between_stages' in name:
            assert norm > 0, f'{name} got no gradient'
        if norm > 0:
            err = (grads[0] - grads[1]).norm() / norm
            assert err < 1e-3, f'{name}: relative gradient difference {err}'


@pytest.fixture(scope='module')
def resume_runs(synthetic_data, amr_config, tmp_path_factory):
    work = tmp_path_factory.mktemp('amr_resume')

    def train(work_dir, max_epochs, *extra):
        return run_tool([
            'tools/train.py', amr_config, '--work-dir', work_dir,
            '--no-validate', '--seed', SEED, *extra, '--cfg-options'
        ] + data_options(synthetic_data, train_batch=4, train_samples=8) + [
            f'train_cfg.max_epochs={max_epochs}',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=-1',
            'default_hooks.logger.interval=1',
            'param_scheduler.0.end=2',
        ] + FAST_ATTACK + DETERMINISTIC_MODEL, timeout=600)

    straight = train(work / 'straight', 2)
    first = train(work / 'resumed', 1)
    epoch1 = work / 'epoch_1_copy.pth'
    shutil.copy(work / 'resumed' / 'epoch_1.pth', epoch1)
    second = train(work / 'resumed', 2, '--resume')
    return dict(
        straight=log_of(straight),
        first=log_of(first),
        second=log_of(second),
        epoch1=epoch1,
        straight_ckpt=work / 'straight' / 'epoch_2.pth',
        resumed_ckpt=work / 'resumed' / 'epoch_2.pth')


def test_resumed_amr_training_logs_the_same_losses(resume_runs):
    assert 'resumed epoch: 1, iter: 2' in resume_runs['second']
    assert 'random_start=True' in resume_runs['second']
    for epoch, key in ((1, 'first'), (2, 'second')):
        straight = step_losses(resume_runs['straight'], epoch)
        resumed = step_losses(resume_runs[key], epoch)
        assert sorted(straight) == sorted(resumed) == [1, 2]
        assert straight == resumed, (epoch, straight, resumed)


def test_resumed_amr_training_ends_where_the_straight_run_ends(resume_runs):
    straight = load_checkpoint(resume_runs['straight_ckpt'])
    resumed = load_checkpoint(resume_runs['resumed_ckpt'])
    epoch1 = load_checkpoint(resume_runs['epoch1'])
    moved = 0
    for name, value in straight['state_dict'].items():
        torch.testing.assert_close(
            resumed['state_dict'][name],
            value,
            atol=ATOL,
            rtol=RTOL,
            msg=lambda m: f'{name}: {m}')
        if 'between_stages' in name:
            moved += bool(
                (value - epoch1['state_dict'][name]).abs().max() > 0)
    assert moved == 12  # W_R, W_S, FC weight and bias of 3 AMRs
    for i, state in straight['optimizer']['state'].items():
        torch.testing.assert_close(
            resumed['optimizer']['state'][i]['momentum_buffer'],
            state['momentum_buffer'],
            atol=1e-7,
            rtol=1e-4)
