# Copyright (c) mmamr contributors. All rights reserved.
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from torch import nn

import mmamr  # noqa: F401  (registers the plugin, applies compat)

N, T, SIZE, M, V = 2, 16, 32, 2, 25


def build(rgb=True, skeleton=True, **kwargs):
    cfg = dict(
        type='RGBSkeletonRecognizer',
        rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125)
        if rgb else None,
        skeleton_backbone=dict(
            type='HCN', base_channels=32, clip_len=T, fc7_channels=16)
        if skeleton else None,
        cls_head=dict(type='FusionHead', num_classes=5, dropout_ratio=0.),
        **kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def make_inputs(views=None):
    lead = (N, ) if views is None else (N, views)
    return dict(
        rgb=torch.rand(*lead, 3, T, SIZE, SIZE),
        skeleton=torch.rand(*lead, M, T, V, 3))


def make_samples(labels=(1, 3)):
    return [ActionDataSample().set_gt_label(label) for label in labels]


def test_logits_equal_manual_late_fusion_with_internal_normalisation():
    model = build()
    inputs = make_inputs()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1, 1)
    rgb_feat = model.branches['rgb']((inputs['rgb'] - mean) / std)
    skel_feat = model.branches['skeleton']((inputs['skeleton'] - 0.5) * 3)
    expected = model.cls_head.fc_cls(torch.cat([rgb_feat, skel_feat], 1))
    assert torch.allclose(model(inputs), expected, atol=1e-5)


def test_forward_never_mutates_inputs():
    model = build()
    inputs = make_inputs(views=1)
    copies = {k: v.clone() for k, v in inputs.items()}
    model(inputs)
    model(inputs, make_samples(), mode='predict')
    assert set(inputs) == set(copies)
    for key in inputs:
        assert inputs[key].shape == copies[key].shape
        assert torch.equal(inputs[key], copies[key])


def test_tensor_mode_averages_views():
    model = build()
    inputs = make_inputs(views=2)
    per_view = [
        model({k: v[:, i] for k, v in inputs.items()}) for i in range(2)
    ]
    assert torch.allclose(
        model(inputs), (per_view[0] + per_view[1]) / 2, atol=1e-5)


def test_loss_and_predict_modes():
    model = build().train()
    losses = model(make_inputs(views=1), make_samples(), mode='loss')
    assert losses['loss_cls'].requires_grad
    losses['loss_cls'].backward()
    assert model.cls_head.fc_cls.weight.grad is not None
    predictions = build()(make_inputs(views=3), make_samples(),
                          mode='predict')
    assert predictions[0].pred_score.shape == (5, )


def test_gradient_reaches_both_raw_inputs():
    model = build()
    inputs = {k: v.requires_grad_() for k, v in make_inputs().items()}
    model(inputs).sum().backward()
    for key in ('rgb', 'skeleton'):
        assert inputs[key].grad.abs().sum() > 0


@pytest.mark.parametrize('modality', ['rgb', 'skeleton'])
def test_unimodal_model_uses_only_its_input(modality):
    model = build(rgb=modality == 'rgb', skeleton=modality == 'skeleton')
    assert model.modalities == (modality, )
    inputs = make_inputs()
    logits = model({modality: inputs[modality]})
    assert logits.shape == (N, 5)
    with pytest.raises(KeyError, match=modality):
        model({})


class RecordMaps(nn.Module):

    def __init__(self):
        super().__init__()
        self.shapes = None

    def forward(self, maps):
        self.shapes = {k: tuple(v.shape) for k, v in maps.items()}
        return {k: v * 2 for k, v in maps.items()}


def test_modules_between_stages_see_aligned_depths_and_act():
    model = build()
    inputs = make_inputs()
    plain = model(inputs)
    deepest, third = RecordMaps(), RecordMaps()
    model.add_between_stages(1, deepest)
    model.add_between_stages(3, third)
    changed = model(inputs)
    rgb, skel = model.branches['rgb'], model.branches['skeleton']
    rgb_maps = [rgb.forward_stage(0, (inputs['rgb'] - model.rgb_mean) /
                                  model.rgb_std)]
    for i in range(1, rgb.num_stages):
        rgb_maps.append(rgb.forward_stage(i, rgb_maps[-1]))
    skel_maps = [
        skel.forward_stage(0, skel.forward_stem(inputs['skeleton'] * 3 - 1.5))
    ]
    for i in range(1, skel.num_stages):
        skel_maps.append(skel.forward_stage(i, skel_maps[-1]))
    # depth d sits after the d-th deepest stage of *each* branch.
    assert deepest.shapes == dict(
        rgb=tuple(rgb_maps[-1].shape), skeleton=tuple(skel_maps[-1].shape))
    assert third.shapes == dict(
        rgb=tuple(rgb_maps[-3].shape), skeleton=tuple(skel_maps[-3].shape))
    assert not torch.allclose(plain, changed)


def test_more_depths_than_stages_is_a_clear_error():
    model = build()
    with pytest.raises(ValueError, match='HCN, which has only 3'):
        model.add_between_stages(4, RecordMaps())


def test_head_width_disagreeing_with_backbones_is_an_error():
    with pytest.raises(ValueError, match='in_channels=7'):
        MODELS.build(
            dict(
                type='RGBSkeletonRecognizer',
                skeleton_backbone=dict(
                    type='HCN', base_channels=32, clip_len=T),
                cls_head=dict(
                    type='FusionHead', num_classes=5, in_channels=7)))


def test_default_data_preprocessor_scales_rgb_to_unit_range():
    model = build()
    data = dict(
        inputs=[
            dict(
                rgb=torch.full((1, 3, T, SIZE, SIZE), 255, dtype=torch.uint8),
                skeleton=torch.rand(1, M, T, V, 3)) for _ in range(N)
        ],
        data_samples=make_samples())
    # mmaction's collate gives a dict of lists; emulate pseudo_collate.
    data['inputs'] = {
        k: [d[k] for d in data['inputs']]
        for k in ('rgb', 'skeleton')
    }
    out = model.data_preprocessor(data)
    assert out['inputs']['rgb'].shape == (N, 1, 3, T, SIZE, SIZE)
    assert torch.allclose(out['inputs']['rgb'], torch.ones(1))
    assert out['inputs']['skeleton'].dtype == torch.float32


class ScaleEach(nn.Module):
    """A per-modality module between stages (like AMR's reweighting)."""

    couples_modalities = False

    def forward(self, maps):
        return {m: 2 * x for m, x in maps.items()}


class SwapEnergy(nn.Module):
    """A module that mixes the branches (like a lateral connection)."""

    def forward(self, maps):
        rgb, skel = maps['rgb'], maps['skeleton']
        return dict(rgb=rgb + skel.mean(), skeleton=skel + rgb.mean())


def test_branch_features_then_fusion_equal_logits():
    model = build()
    model.add_between_stages(1, ScaleEach())
    inputs = make_inputs(views=2)
    feats, batch, views = model.branch_features(inputs)
    assert (batch, views) == (N, 2)
    assert torch.allclose(
        model.fused_logits(feats, batch, views), model(inputs), atol=1e-6)


def test_one_branch_runs_alone_when_branches_do_not_interact():
    model = build()
    model.add_between_stages(1, ScaleEach())
    assert not model.branches_interact
    inputs = make_inputs()
    both, _, _ = model.branch_features(inputs)
    skel_only, _, _ = model.branch_features(inputs, ['skeleton'])
    assert set(skel_only) == {'skeleton'}
    assert torch.allclose(skel_only['skeleton'], both['skeleton'], atol=1e-6)


def test_coupled_branches_refuse_to_run_alone():
    model = build()
    model.add_between_stages(1, SwapEnergy())
    assert model.branches_interact
    with pytest.raises(RuntimeError, match='interact'):
        model.branch_features(make_inputs(), ['skeleton'])
    # Asking for every branch is still fine.
    model.branch_features(make_inputs(), ['rgb', 'skeleton'])


def test_unknown_modality_subset_is_a_clear_error():
    model = build(rgb=False)
    with pytest.raises(ValueError, match='no \\[\'rgb\'\\] branch'):
        model.branch_features(make_inputs(), ['rgb'])
