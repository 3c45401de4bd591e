# Copyright (c) mmamr contributors. All rights reserved.
"""The branch backbones and their stage interface (DESIGN.md D1)."""
import os.path as osp

import mmaction
import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config

# Importing mmamr applies its compat fixes before mmaction.models loads.
from mmamr.models.backbones import (HCN, InceptionI3D, StagedBackbone,
                                    StagedResNet3d)

SMALL_HCN = dict(type='HCN', clip_len=16, base_channels=32, num_joints=17)
TINY_I3D = dict(type='InceptionI3D', width_multiplier=0.125)
TINY_RESNET = dict(
    type='StagedResNet3d',
    backbone=dict(type='ResNet3d', depth=18, base_channels=8, pretrained=None))
TINY_SLOWONLY = dict(
    type='StagedResNet3d',
    backbone=dict(
        type='ResNet3dSlowOnly', depth=18, base_channels=8, pretrained=None))


def num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def run_stages(model: StagedBackbone, x: torch.Tensor) -> list:
    """Outputs of the stem and of every stage, in order."""
    outs = [model.forward_stem(x)]
    for i in range(model.num_stages):
        outs.append(model.forward_stage(i, outs[-1]))
    return outs


def skeletons(n: int = 2, m: int = 2, t: int = 16, v: int = 17):
    torch.manual_seed(0)
    return torch.randn(n, m, t, v, 3)


def clip(n: int = 2, t: int = 8, size: int = 32):
    torch.manual_seed(0)
    return torch.randn(n, 3, t, size, size)


CASES = {
    'HCN': (SMALL_HCN, skeletons),
    'InceptionI3D': (TINY_I3D, clip),
    'StagedResNet3d': (TINY_RESNET, clip),
    'StagedResNet3d-SlowOnly': (TINY_SLOWONLY, clip),
}


@pytest.fixture(params=list(CASES))
def case(request):
    cfg, make_input = CASES[request.param]
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval(), make_input()


def test_backbones_are_registered_staged_backbones():
    for name in ('HCN', 'InceptionI3D', 'StagedResNet3d'):
        assert issubclass(MODELS.get(name), StagedBackbone)


def test_forward_equals_stage_composition(case):
    model, x = case
    with torch.no_grad():
        staged = model.forward_head(run_stages(model, x)[-1])
        whole = model(x)
    assert whole.shape == (x.shape[0], model.feat_dim)
    torch.testing.assert_close(whole, staged)


def test_pool_stage_gives_one_row_per_sample(case):
    model, x = case
    with torch.no_grad():
        outs = run_stages(model, x)[1:]
    for out in outs:
        pooled = model.pool_stage(out)
        assert pooled.shape == (x.shape[0], out.shape[1])


def test_asking_for_more_stages_than_exist_names_the_class(case):
    model, _ = case
    model.check_stage_count(model.num_stages)
    with pytest.raises(ValueError, match=type(model).__name__):
        model.check_stage_count(5, owner='AMR')


def test_gradients_reach_the_input(case):
    model, x = case
    x = x.clone().requires_grad_()
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


# HCN


def test_hcn_stage_shapes_at_paper_size():
    model = HCN()  # T=32, V=25, M=2, C=3, conv1 width 64
    x = torch.randn(2, 2, 32, 25, 3)
    outs = run_stages(model.eval(), x)
    assert [tuple(o.shape) for o in outs] == [(4, 3, 32, 25), (4, 128, 8, 8),
                                              (4, 128, 4, 4), (4, 256, 2, 2)]
    assert model.forward_head(outs[-1]).shape == (2, 256)
    # fc7 sees 256 * (T/16) * 2 features, as in HCN.
    assert model.fc7[0].in_features == 256 * 2 * 2


def test_hcn_base_channels_scale_the_model():
    small = HCN(clip_len=16, base_channels=32, fc7_channels=64)
    paper = HCN(clip_len=16)
    assert num_params(small) < num_params(paper)
    outs = run_stages(small.eval(), torch.randn(1, 2, 16, 25, 3))
    assert [tuple(o.shape[1:]) for o in outs[1:]] == [(64, 4, 4), (64, 2, 2),
                                                      (128, 1, 1)]
    assert small.feat_dim == 64


def test_hcn_max_over_persons_ignores_person_order():
    model = MODELS.build(SMALL_HCN).eval()
    x = skeletons()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.flip(1)))
        torch.testing.assert_close(
            model.pool_stage(run_stages(model, x)[1]),
            model.pool_stage(run_stages(model, x.flip(1))[1]))


def test_hcn_accepts_zero_padded_persons():
    model = MODELS.build(SMALL_HCN).eval()
    x = skeletons()
    x[:, 1] = 0
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_hcn_motion_stream_sees_movement():
    model = MODELS.build(SMALL_HCN).eval()
    static = skeletons()[:, :, :1].expand(-1, -1, 16, -1, -1)
    moving = static + torch.linspace(0, 1, 16).view(1, 1, 16, 1, 1)
    with torch.no_grad():
        # Same positions at frame 0; the static skeleton has zero motion.
        assert not torch.allclose(model(static), model(moving))
        x = model.forward_stem(static)
        zero = model.motion_stream(torch.zeros_like(x))
        torch.testing.assert_close(model.forward_stage(0, x)[:, 32:], zero)


def test_hcn_init_is_xavier_uniform():
    model = HCN()
    model.init_weights()
    conv = model.position_stream.conv1[0]
    fan_in, fan_out = conv.in_channels, conv.out_channels
    bound = (6 / (fan_in + fan_out))**0.5
    assert conv.weight.abs().max() <= bound
    assert (conv.bias == 0).all()


def test_hcn_rejects_inputs_of_another_layout():
    model = MODELS.build(SMALL_HCN)
    with pytest.raises(ValueError, match='N, M, T, V, C'):
        model(torch.randn(2, 3, 16, 17, 2))  # [N, C, T, V, M]
    with pytest.raises(ValueError, match='clip_len'):
        HCN(clip_len=8)


# InceptionI3D


def test_i3d_endpoints_at_224():
    model = InceptionI3D().eval()
    assert model.feat_dim == 1024
    with torch.no_grad():
        outs = run_stages(model, torch.randn(1, 3, 16, 224, 224))
    assert [tuple(o.shape[1:]) for o in outs[1:]] == [(192, 8, 56, 56),
                                                      (480, 8, 28, 28),
                                                      (832, 4, 14, 14),
                                                      (1024, 2, 7, 7)]
    assert model.forward_head(outs[-1]).shape == (1, 1024)


def test_i3d_blocks_have_the_released_widths():
    model = InceptionI3D()
    widths = {
        name: getattr(model, name).out_channels
        for name in ('Mixed_3b', 'Mixed_3c', 'Mixed_4b', 'Mixed_4c',
                     'Mixed_4d', 'Mixed_4e', 'Mixed_4f', 'Mixed_5b',
                     'Mixed_5c')
    }
    assert widths == dict(
        Mixed_3b=256,
        Mixed_3c=480,
        Mixed_4b=512,
        Mixed_4c=512,
        Mixed_4d=512,
        Mixed_4e=528,
        Mixed_4f=832,
        Mixed_5b=832,
        Mixed_5c=1024)
    bn = model.Conv3d_1a_7x7.bn
    assert (bn.eps, bn.momentum) == (1e-3, 0.01)
    assert model.Conv3d_1a_7x7.conv3d.bias is None


def test_i3d_same_padding_rounds_sizes_up():
    model = InceptionI3D(width_multiplier=0.125).eval()
    with torch.no_grad():
        out = run_stages(model, torch.randn(1, 3, 5, 37, 37))[-1]
    # 5 -> 3 -> 3 -> 2 -> 1 frames; 37 -> 19 -> 10 -> 5 -> 3 -> 2 pixels.
    assert tuple(out.shape[2:]) == (1, 2, 2)


def test_i3d_width_multiplier_scales_the_model():
    tiny = InceptionI3D(width_multiplier=0.125)
    half = InceptionI3D(width_multiplier=0.5)
    assert num_params(tiny) < num_params(half) < num_params(InceptionI3D())
    assert tiny.feat_dim == 48 + 48 + 16 + 16  # Mixed_5c branches / 8
    assert InceptionI3D(width_multiplier=0.001).feat_dim == 4


# StagedResNet3d


@pytest.mark.parametrize('cfg', [TINY_RESNET, TINY_SLOWONLY])
def test_resnet3d_stages_match_the_wrapped_forward(cfg):
    model = MODELS.build(cfg).eval()
    x = clip()
    with torch.no_grad():
        torch.testing.assert_close(run_stages(model, x)[-1], model.backbone(x))
    assert model.num_stages == 4
    assert model.feat_dim == model.backbone.feat_dim == 64


def test_resnet3d_wraps_mmaction_i3d_r50_config():
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmaction.__file__),
            '.mim/configs/_base_/models/i3d_r50.py')).model.backbone
    cfg.update(pretrained=None, base_channels=4)  # no download, tiny
    model = StagedResNet3d(backbone=cfg).eval()
    x = clip(n=1, t=16)
    with torch.no_grad():
        outs = run_stages(model, x)
        torch.testing.assert_close(outs[-1], model.backbone(x))
    # conv1 and pool1 halve time, pool2 halves it again.
    assert [tuple(o.shape[1:3]) for o in outs] == [(4, 4), (16, 2), (32, 2),
                                                   (64, 2), (128, 2)]
    assert model.forward_head(outs[-1]).shape == (1, model.feat_dim)


def test_resnet3d_init_weights_delegates_to_the_wrapped_backbone():
    model = MODELS.build(TINY_RESNET)
    last_bn = model.backbone.layer1[0].conv2.bn
    torch.nn.init.constant_(last_bn.weight, 3.)
    model.init_weights()
    # ResNet3d's own scheme zero-initialises the last BN of each block.
    assert (last_bn.weight == 0).all()


def test_inception_i3d_norm_eval_freezes_batchnorm_statistics():
    model = InceptionI3D(width_multiplier=0.125, norm_eval=True).train()
    bn = model.Conv3d_1a_7x7.bn
    before = bn.running_mean.clone()
    model(torch.rand(2, 3, 4, 32, 32))
    assert not bn.training
    assert torch.equal(bn.running_mean, before)
    trained = InceptionI3D(width_multiplier=0.125).train()
    trained(torch.rand(2, 3, 4, 32, 32))
    assert not torch.equal(trained.Conv3d_1a_7x7.bn.running_mean, before)
