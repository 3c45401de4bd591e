# Copyright (c) mmamr contributors. All rights reserved.
"""Adversarial training and AMRWeightsHook inside a real mmengine Runner
(in memory; the subprocess and 2-process runs are in tests/test_tools).
The objective is the model's (its train_cfg), whatever the train loop."""
import pytest
import torch
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.engine import amr_weight_means

T, SIZE, M, V, K = 16, 32, 2, 25, 5


class TinyClips(Dataset):
    """8 random RGB-skeleton clips as the packing transform emits them."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        gen = torch.Generator().manual_seed(index)
        rgb = torch.randint(0, 256, (1, 3, T, SIZE, SIZE), generator=gen)
        return dict(
            inputs=dict(
                rgb=rgb.to(torch.uint8),
                skeleton=torch.rand(1, M, T, V, 3, generator=gen)),
            data_samples=ActionDataSample().set_gt_label(index % K))


MODEL = dict(
    type='RGBSkeletonRecognizer',
    rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
    skeleton_backbone=dict(
        type='HCN', base_channels=32, clip_len=T, fc7_channels=16),
    cls_head=dict(type='FusionHead', num_classes=K),
    amr=dict(
        num_modules=2,
        input_shapes=dict(rgb=(3, T, SIZE, SIZE), skeleton=(M, T, V, 3))))
ATTACK = dict(type='PGD', steps=2, targets='both')
AMR_MODEL = dict(MODEL, train_cfg=dict(mode='amr', lam=0.5, attack=ATTACK))


def make_runner(tmp_path, train_cfg, model=AMR_MODEL):
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=DataLoader(
            TinyClips(), batch_size=4, collate_fn=pseudo_collate),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        custom_hooks=[dict(type='AMRWeightsHook')],
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1), checkpoint=None),
        default_scope='mmaction',
        randomness=dict(seed=0),
        experiment_name=f'loop_{tmp_path.name}')


@pytest.mark.parametrize('loop',
                         ['EpochBasedTrainLoop', 'AdversarialTrainLoop'])
def test_model_trains_amr_under_any_loop_and_hook_logs_weight_means(
        loop, tmp_path):
    runner = make_runner(tmp_path, dict(type=loop, max_epochs=1))
    before = {
        k: v.detach().clone()
        for k, v in runner.model.state_dict().items() if '.weights.' in k
    }
    assert len(before) == 4
    assert sorted(amr_weight_means(runner.model)) == [
        'amr1/w_rgb', 'amr1/w_skeleton', 'amr2/w_rgb', 'amr2/w_skeleton'
    ]
    runner.train()
    model = runner.model
    assert model.adversarial_training.mode == 'amr'
    assert model.adversarial_training.lam == 0.5
    hub = runner.message_hub
    for key in ('loss_clean', 'loss_adv', 'loss_aux', 'loss'):
        assert f'train/{key}' in hub.log_scalars, key
    # The logged total is the sum of the three terms (Eq. 12 with λ
    # inside the logged values).
    last = {
        k: hub.get_scalar(f'train/{k}').current()
        for k in ('loss', 'loss_clean', 'loss_adv', 'loss_aux')
    }
    assert last['loss'] == pytest.approx(
        last['loss_clean'] + last['loss_adv'] + last['loss_aux'], rel=1e-5)
    # The hook logged the current means, and training moved them.
    for key, value in amr_weight_means(model).items():
        assert hub.get_scalar(f'train/{key}').current() == pytest.approx(value)
    for key, value in before.items():
        assert not torch.equal(model.state_dict()[key], value), key


def test_objective_in_the_loop_config_is_a_clear_error(tmp_path):
    """The loop no longer takes the objective: it says where it goes."""
    runner = make_runner(
        tmp_path,
        dict(
            type='AdversarialTrainLoop',
            max_epochs=1,
            mode='madry',
            attack=ATTACK),
        model=MODEL)
    with pytest.raises(ValueError, match='move them to model.train_cfg'):
        runner.train()


def test_hook_interval_must_be_positive():
    from mmamr.engine import AMRWeightsHook
    with pytest.raises(ValueError, match='interval=0'):
        AMRWeightsHook(interval=0)
