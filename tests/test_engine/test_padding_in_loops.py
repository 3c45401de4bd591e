# Copyright (c) mmamr contributors. All rights reserved.
"""Padding is not input (DESIGN.md D7) where the attacks run for real:
the training objective's attack and RobustTestLoop, with restarts, from
packed samples through collate and the data preprocessor."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from robust_fixtures import ALPHA, EPS, PatternClips, build_model, build_runner

import mmamr  # noqa: F401  (registers the plugin)

T, SIZE, M, V, K = 16, 32, 2, 25, 4
PADDED_FRAMES = slice(T - 3, T)


def pad(skeleton):
    """One person (second slot zero) and no body in the last frames, as
    the converters and FormatSkeletonInput store them; in place."""
    skeleton[..., 1, :, :, :] = 0
    skeleton[..., PADDED_FRAMES, :, :] = 0
    return skeleton


def padding(skeleton):
    """bool, like ``skeleton``: True at the positions :func:`pad` zeroed."""
    mask = torch.zeros_like(skeleton, dtype=torch.bool)
    mask[..., 1, :, :, :] = True
    mask[..., PADDED_FRAMES, :, :] = True
    return mask


@pytest.mark.parametrize('mode', ['madry', 'amr'])
def test_the_training_attack_never_perturbs_padding(mode):
    """Every training forward (clean and adversarial passes) sees the
    padding exactly zero, and the adversarial one a perturbed body."""
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
            skeleton_backbone=dict(
                type='HCN', base_channels=32, clip_len=T, fc7_channels=16),
            cls_head=dict(type='FusionHead', num_classes=K),
            train_cfg=dict(
                mode=mode,
                attack=dict(
                    type='PGD', eps=EPS, alpha=ALPHA, steps=2,
                    targets='both'))))
    model.train()
    gen = torch.Generator().manual_seed(0)
    inputs = dict(
        rgb=torch.rand(2, 3, T, SIZE, SIZE, generator=gen),
        skeleton=pad(torch.rand(2, M, T, V, 3, generator=gen)))
    samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
    seen = []
    branch_features = model.branch_features

    def spy(batch, *args, **kwargs):
        if kwargs.get('return_aux'):  # a training pass, not the attack
            seen.append(batch['skeleton'].detach().clone())
        return branch_features(batch, *args, **kwargs)

    model.branch_features = spy
    losses = model(inputs, samples, mode='loss')
    assert torch.isfinite(losses['loss_adv'])
    assert len(seen) == (2 if mode == 'amr' else 1)
    clean = inputs['skeleton']
    mask = padding(clean)
    for skeleton in seen:
        assert (skeleton[mask] == 0).all()
    delta = (seen[-1] - clean)[~mask].abs().max()
    assert EPS['skeleton'] / 2 <= delta <= EPS['skeleton'] + 1e-6


class PaddedClips(PatternClips):
    """PatternClips with one person and padded last frames."""

    def __init__(self):
        super().__init__()
        for item in self.items:
            pad(item['inputs']['skeleton'])


def test_robust_test_loop_never_perturbs_padding_with_restarts(tmp_path):
    """Every input RobustTestLoop predicts (clean, with RGB or the
    skeleton replaced by its dataset mean, and adversarial, every attack
    and target, restarts and best iterate included) has the samples'
    padding exactly zero, after collate and the data preprocessor; and
    the adversarial and mean skeletons are changed."""
    model, clips = build_model(), PaddedClips()
    attacks = [
        dict(type='FGSM', eps=EPS),
        dict(
            type='PGD',
            eps=EPS,
            alpha=ALPHA,
            steps=2,
            restarts=2,
            best_iterate=True),
        dict(type='CW', eps=EPS, alpha=ALPHA, steps=2),
    ]
    predicted = []

    def spy(module, args, kwargs):
        inputs = args[0] if args else kwargs['inputs']
        if kwargs.get('mode') == 'predict' or 'predict' in args:
            predicted.append(inputs['skeleton'].detach().clone())

    handle = model.register_forward_pre_hook(spy, with_kwargs=True)
    try:
        runner = build_runner(
            model, clips, tmp_path, attacks, targets=('skeleton', 'both'))
        metrics = runner.test()
    finally:
        handle.remove()
    assert 'robust/PGD2x2-best/skeleton/top1' in metrics
    # 4 batches of 2, each a clean prediction, −R and −S (the means),
    # and 3 attacks x 2 targets.
    per_batch = 1 + 2 + 3 * 2
    assert len(predicted) == 4 * per_batch
    clean = torch.stack([item['inputs']['skeleton'] for item in clips.items])
    mask = padding(clean[:2])
    moved = 0
    for i, skeleton in enumerate(predicted):
        assert skeleton.shape == mask.shape
        assert (skeleton[mask] == 0).all(), i
        moved += not torch.equal(skeleton, clean[2 * (i // per_batch):][:2])
    # Every attack x target and −S; −R keeps the clean skeleton.
    assert moved == 4 * (3 * 2 + 1)
