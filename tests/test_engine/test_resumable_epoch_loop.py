# Copyright (c) mmamr contributors. All rights reserved.
"""A run preempted mid-epoch and resumed from its iteration checkpoint ends
exactly where the uninterrupted run ends (ResumableEpochBasedTrainLoop).

Toy regression (a linear layer, SGD with momentum, shuffled batches): the
weights after 2 epochs depend on every batch, its order and the momentum
buffer, so replaying part of an epoch, skipping or reordering a batch, or
losing the optimizer state ends elsewhere. mmengine's own loop is the
negative control.
"""
import uuid

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import DataLoader, Dataset

import mmamr  # noqa: F401  (registers the loop)
from mmamr.engine.runner import skip_first_batches

NUM, BATCH, EPOCHS = 10, 2, 2  # 5 iterations per epoch, 10 in all
PREEMPTED_AT = 7  # after iteration 7; the last checkpoint is iter_6


class Points(Dataset):
    """``y = x · w*`` for fixed random ``x``; counts the loaded items in
    ``Points.loaded`` (the Runner builds its own copy of the dataset)."""

    loaded = 0

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(NUM, 3, generator=gen)
        self.y = self.x @ torch.tensor([1., -2., 0.5])

    def __len__(self):
        return NUM

    def __getitem__(self, i):
        Points.loaded += 1
        return dict(inputs=self.x[i], data_samples=self.y[i])


class Regression(BaseModel):

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return dict(
            loss=((self.fc(inputs).squeeze(1) - data_samples)**2).mean())


class Preempt(Hook):
    """Stop the job after iteration ``at``, as a scheduler's kill would."""

    def __init__(self, at):
        self.at = at

    def after_train_iter(self,
                         runner,
                         batch_idx,
                         data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            raise KeyboardInterrupt('preempted')


def train(work_dir, loop, dataset, preempt_at=None, resume=False):
    runner = Runner(
        model=Regression(),
        work_dir=str(work_dir),
        experiment_name=f'resumable_loop_{uuid.uuid4().hex}',
        default_scope='mmaction',
        train_dataloader=dict(
            dataset=dataset,
            batch_size=BATCH,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(type=loop, max_epochs=EPOCHS),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(
            type='CosineAnnealingLR',
            T_max=EPOCHS,
            by_epoch=True,
            convert_to_iter_based=True),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1),
            # The preemption checkpoint of the real-data configs.
            iter_checkpoint=dict(
                type='CheckpointHook',
                by_epoch=False,
                interval=3,
                max_keep_ckpts=2,
                save_last=False)),
        custom_hooks=[Preempt(preempt_at)] if preempt_at else None,
        resume=resume,
        randomness=dict(seed=0))
    if preempt_at:
        with pytest.raises(KeyboardInterrupt):
            runner.train()
    else:
        runner.train()
    return runner


def weight(runner):
    return torch.cat([p.detach().flatten() for p in runner.model.parameters()])


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
    return train(
        tmp_path_factory.mktemp('straight'), 'ResumableEpochBasedTrainLoop',
        Points())


def test_preempted_run_resumes_mid_epoch_and_ends_as_the_straight_run(
        straight, tmp_path):
    loop = 'ResumableEpochBasedTrainLoop'
    train(tmp_path, loop, Points(), preempt_at=PREEMPTED_AT)
    assert (tmp_path /
            'last_checkpoint').read_text().strip().endswith('iter_6.pth')
    Points.loaded = 0
    resumed = train(tmp_path, loop, Points(), resume=True)
    assert resumed.iter == straight.iter == NUM // BATCH * EPOCHS
    torch.testing.assert_close(weight(resumed), weight(straight))
    # Epoch 2 resumed after its first batch (iteration 6): only its 4
    # remaining batches were loaded.
    assert Points.loaded == 4 * BATCH
    # The epoch checkpoint is the straight run's.
    assert (tmp_path / 'epoch_2.pth').is_file()


def test_mmengine_loop_replays_the_epoch_and_overshoots(straight, tmp_path):
    train(tmp_path, 'EpochBasedTrainLoop', Points(), preempt_at=PREEMPTED_AT)
    resumed = train(tmp_path, 'EpochBasedTrainLoop', Points(), resume=True)
    # The control: iterations 6 and later counted twice, other weights.
    assert resumed.iter == 6 + NUM // BATCH
    assert not torch.allclose(weight(resumed), weight(straight))


def test_skip_first_batches_yields_the_remaining_batches_unloaded():
    order = torch.randperm(NUM, generator=torch.Generator().manual_seed(1))
    loader = DataLoader(Points(), batch_size=3, sampler=order.tolist())
    full = [b['inputs'] for b in loader]
    Points.loaded = 0
    with skip_first_batches(loader, 2) as skipped:
        assert skipped
        assert len(loader) == len(full)  # logs count the whole epoch
        rest = [b['inputs'] for b in loader]
    assert Points.loaded == NUM - 2 * 3
    assert len(rest) == len(full) - 2
    for got, want in zip(rest, full[2:]):
        torch.testing.assert_close(got, want)
    assert len(list(loader)) == len(full)  # restored
