# Copyright (c) mmamr contributors. All rights reserved.
"""MinSim (Tian & Xu): ``w · mean_b cos(f_R^b, f_S^b)``, its gradient, and
its place in the training objectives."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.attacks import PGD
from mmamr.models import AdversarialTraining, MinSimLoss

N, T, SIZE, M, V, K = 4, 16, 32, 2, 25, 5
LABELS = (1, 3, 0, 3)
ATTACK = dict(
    type='PGD',
    eps=dict(rgb=8 / 255, skeleton=8 / 255),
    alpha=dict(rgb=2 / 255, skeleton=2 / 255),
    steps=2,
    random_start=False,
    targets='both')


def direct_minsim(rgb, skeleton, weight):
    """Per sample: the dot product of the overlapping coordinates over
    the product of the full norms, written out; then the mean."""
    d = min(rgb.shape[1], skeleton.shape[1])
    cos = [(r[:d] * s[:d]).sum() / (r.norm() * s.norm())
           for r, s in zip(rgb, skeleton)]
    return weight * torch.stack(cos).mean()


@pytest.mark.parametrize('widths', [(6, 6), (10, 4), (3, 7)])
@pytest.mark.parametrize('weight', [1.0, 0.3])
def test_loss_and_gradient_are_the_direct_computation(widths, weight):
    gen = torch.Generator().manual_seed(0)
    rgb = torch.randn(5, widths[0], dtype=torch.float64, generator=gen)
    skeleton = torch.randn(5, widths[1], dtype=torch.float64, generator=gen)
    rgb.requires_grad_(True)
    skeleton.requires_grad_(True)
    loss = MinSimLoss(loss_weight=weight)(dict(rgb=rgb, skeleton=skeleton))
    ref = direct_minsim(rgb, skeleton, weight)
    torch.testing.assert_close(loss, ref)
    grads = torch.autograd.grad(loss, (rgb, skeleton))
    ref_grads = torch.autograd.grad(ref, (rgb, skeleton))
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)
    # And the analytic gradient for equal widths:
    # d cos(a, b)/da = b / (|a||b|) − cos · a / |a|², over the batch mean.
    if widths[0] == widths[1]:
        a, b = rgb.detach(), skeleton.detach()
        cos = (a * b).sum(1, keepdim=True) / (a.norm(dim=1, keepdim=True) *
                                              b.norm(dim=1, keepdim=True))
        analytic = weight / len(a) * (
            b / (a.norm(dim=1, keepdim=True) * b.norm(dim=1, keepdim=True)) -
            cos * a / a.norm(dim=1, keepdim=True)**2)
        torch.testing.assert_close(grads[0], analytic)


def test_bounds_and_bad_inputs():
    f = torch.rand(3, 8)
    loss = MinSimLoss()
    assert float(loss(dict(rgb=f, skeleton=f))) == pytest.approx(1.0)
    assert float(loss(dict(rgb=f, skeleton=-f))) == pytest.approx(-1.0)
    with pytest.raises(KeyError, match='skeleton'):
        loss(dict(rgb=f))
    with pytest.raises(ValueError, match='same B clips'):
        loss(dict(rgb=f, skeleton=torch.rand(2, 8)))
    with pytest.raises(ValueError, match='loss_weight'):
        MinSimLoss(loss_weight=-1)


def build(minsim=None, rgb=True):
    cfg = dict(
        type='RGBSkeletonRecognizer',
        rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125)
        if rgb else None,
        skeleton_backbone=dict(
            type='HCN', base_channels=32, clip_len=T, fc7_channels=16,
            dropout=0.),
        cls_head=dict(type='FusionHead', num_classes=K, dropout_ratio=0.),
        minsim=minsim)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.train()


def make_inputs():
    gen = torch.Generator().manual_seed(1)
    return dict(
        rgb=torch.rand(N, 1, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(N, 1, M, T, V, 3, generator=gen))


def samples():
    return [ActionDataSample().set_gt_label(label) for label in LABELS]


def test_recognizer_builds_minsim_and_refuses_one_branch():
    model = build(dict(loss_weight=0.5))
    assert isinstance(model.minsim, MinSimLoss)
    assert model.minsim.loss_weight == 0.5
    # No parameters, nothing in the checkpoint.
    assert not any('minsim' in k for k in model.state_dict())
    with pytest.raises(ValueError, match='only'):
        build(dict(), rgb=False)


def test_standard_training_adds_minsim_of_the_clean_features():
    model = build(dict(loss_weight=2.0)).eval()  # no BN update, no dropout
    inputs = make_inputs()
    losses = model.loss(inputs, samples())
    assert set(k for k in losses if 'loss' in k) == {'loss_cls',
                                                     'loss_minsim'}
    feats, _, _ = model.branch_features(inputs)
    torch.testing.assert_close(
        losses['loss_minsim'],
        direct_minsim(feats['rgb'], feats['skeleton'], 2.0))
    # The term reaches the backbones' parameters.
    losses['loss_minsim'].backward()
    conv = model.branches['skeleton'].parameters().__next__()
    assert conv.grad is not None and conv.grad.abs().sum() > 0


def test_madry_and_amr_add_minsim_of_each_pass():
    model = build(dict(loss_weight=1.0)).eval()
    inputs = make_inputs()
    labels = torch.tensor(LABELS)
    adv = PGD(**{k: v for k, v in ATTACK.items() if k != 'type'})(
        model, inputs, labels)
    adv_feats, _, _ = model.branch_features(adv)
    clean_feats, _, _ = model.branch_features(inputs)

    model.set_adversarial_training(AdversarialTraining('madry', ATTACK))
    losses = model.loss(inputs, samples())
    assert {k for k in losses if 'loss' in k} == {'loss_adv',
                                                  'adv_loss_minsim'}
    torch.testing.assert_close(
        losses['adv_loss_minsim'],
        direct_minsim(adv_feats['rgb'], adv_feats['skeleton'], 1.0))

    model.set_adversarial_training(
        AdversarialTraining('amr', ATTACK, lam=0.5))
    losses = model.loss(inputs, samples())
    assert {k for k in losses if 'loss' in k} == {
        'loss_clean', 'loss_adv', 'loss_minsim', 'adv_loss_minsim'
    }
    torch.testing.assert_close(
        losses['loss_minsim'],
        direct_minsim(clean_feats['rgb'], clean_feats['skeleton'], 1.0))
    torch.testing.assert_close(
        losses['adv_loss_minsim'],
        direct_minsim(adv_feats['rgb'], adv_feats['skeleton'], 0.5))
