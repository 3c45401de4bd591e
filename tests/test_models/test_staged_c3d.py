# Copyright (c) mmamr contributors. All rights reserved.
"""StagedC3D, the synthetic benchmark's RGB backbone, and the synthetic
AMR config that sizes its AMRs from its stages (DESIGN.md D1, D2)."""
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.models import AMR
from mmamr.models.backbones import StagedBackbone
from mmamr.models.backbones.staged_c3d import StagedC3D

CONFIG = (
    Path(__file__).resolve().parents[2] / 'configs' /
    'amr_c3d_hcn_synthetic.py')
CLIP = (3, 8, 32, 32)  # one clip [C, T, H, W]


def clip(n: int = 2, shape=CLIP) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, *shape, generator=gen)


def build(**kwargs) -> StagedC3D:
    torch.manual_seed(0)
    model = MODELS.build(dict(type='StagedC3D', **kwargs))
    model.init_weights()
    return model


def num_convs(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv3d) for m in model.modules())


def test_registered_as_a_staged_backbone():
    model = MODELS.build(dict(type='StagedC3D'))
    assert type(model) is StagedC3D
    assert isinstance(model, StagedBackbone)
    assert (model.num_stages, model.feat_dim) == (3, 128)


def test_default_stage_shapes_are_the_documented_ones():
    model = build()
    # Widths 16 * 2^(i+1); every stage halves H and W and keeps T.
    assert model.stage_shapes(CLIP) == [((32, 8, 16, 16), 32),
                                        ((64, 8, 8, 8), 64),
                                        ((128, 8, 4, 4), 128)]
    assert model.forward_stem(clip()).shape == (2, 16, 8, 32, 32)


def test_base_channels_set_every_width():
    model = build(base_channels=24)
    assert [s[1] for s in model.stage_shapes(CLIP)] == [48, 96, 192]
    assert model.feat_dim == 192


def test_forward_equals_the_stage_composition():
    model = build().eval()
    x = clip()
    with torch.no_grad():
        staged = model.forward_head(
            model.forward_stage(
                2,
                model.forward_stage(
                    1, model.forward_stage(0, model.forward_stem(x)))))
        whole = model(x)
    assert whole.shape == (2, 128)
    assert torch.equal(whole, staged)


def test_pool_stage_gives_one_row_per_sample():
    model = build().eval()
    with torch.no_grad():
        out = model.forward_stage(0, model.forward_stem(clip(n=3)))
    assert model.pool_stage(out).shape == (3, 32)
    torch.testing.assert_close(model.pool_stage(out), out.mean((2, 3, 4)))


def test_custom_strides_and_stage_count_change_the_shapes():
    model = build(num_stages=2, strides=[(2, 2, 2), (1, 1, 1)])
    assert model.num_stages == 2 and model.feat_dim == 64
    # Padding 1: a stride of 2 gives ceil(n / 2).
    assert model.stage_shapes((3, 7, 30, 30)) == [((32, 4, 15, 15), 32),
                                                  ((64, 4, 15, 15), 64)]
    deeper = build(num_stages=4)
    assert deeper.stage_shapes(CLIP)[-1] == ((256, 8, 2, 2), 256)


def test_convs_per_stage_add_stride_one_convolutions():
    one, three = build(), build(convs_per_stage=3)
    assert (num_convs(one), num_convs(three)) == (1 + 3, 1 + 3 * 3)
    assert three.stage_shapes(CLIP) == one.stage_shapes(CLIP)


def test_dropout_acts_only_in_training():
    model = build(dropout_ratio=0.5)
    x = clip()
    with torch.no_grad():
        model.eval()
        torch.testing.assert_close(model(x), model(x))
        model.train()
        assert not torch.equal(model(x), model(x))


@pytest.mark.parametrize(
    'kwargs, message', [
        (dict(num_stages=0), 'num_stages'),
        (dict(convs_per_stage=0), 'convs_per_stage'),
        (dict(base_channels=0), 'base_channels'),
        (dict(strides=[(1, 2, 2)] * 2), r'one \(t, h, w\) stride per stage'),
        (dict(num_stages=2, strides=[(1, 2, 2)] * 3), r'per stage \(2\)'),
        (dict(strides=[(1, 2, 2), (1, 2), (1, 2, 2)]), 'stride per stage'),
    ],
    ids=[
        'no-stages', 'no-convs', 'no-width', 'too-few-strides',
        'too-many-strides', 'stride-of-two-axes'
    ])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        StagedC3D(**kwargs)


def test_a_clip_that_does_not_fit_names_the_class():
    model = build()
    # Two channels where the stem wants three: the convolution's own
    # error, prefixed with the clip and the class.
    with pytest.raises(ValueError, match=r'\(2, 8, 32, 32\).*StagedC3D'):
        model.stage_shapes((2, 8, 32, 32))


def test_gradients_reach_the_stem_and_the_input():
    model = build().train()
    x = clip().requires_grad_()
    model(x).sum().backward()
    stem_conv = model.stem[0]
    assert stem_conv.weight.grad is not None
    assert stem_conv.weight.grad.abs().sum() > 0
    assert x.grad.abs().sum() > 0


def test_stage_shapes_keep_batchnorm_statistics():
    model = build().train()
    bn = model.stages[0][0][1]
    before = bn.running_mean.clone()
    model.stage_shapes(CLIP)
    assert model.training and bn.training
    assert torch.equal(bn.running_mean, before)


# The synthetic AMR config


def load_config(num_modules: int = 3) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    cfg.model.amr.num_modules = num_modules
    return cfg


def test_synthetic_config_puts_amrs_after_the_c3d_stages():
    cfg = load_config()
    assert cfg.model.rgb_backbone.type == 'StagedC3D'
    model = MODELS.build(cfg.model)
    rgb = model.branches['rgb']
    assert isinstance(rgb, StagedC3D) and rgb.num_stages == 3
    shapes = model.stage_shapes(cfg.model.amr.input_shapes)
    # Widths base * 2, 4, 8 on 8 x 32 x 32 clips, spatial /2 per stage.
    b = cfg.model.rgb_backbone.base_channels
    assert shapes['rgb'] == [((2 * b, 8, 16, 16), 2 * b),
                             ((4 * b, 8, 8, 8), 4 * b),
                             ((8 * b, 8, 4, 4), 8 * b)]
    assert sorted(model.between_stages) == ['1', '2', '3']
    for depth in (1, 2, 3):
        amr = model.between_stages[str(depth)]
        assert isinstance(amr, AMR)
        for m in ('rgb', 'skeleton'):
            assert amr.weights[m].shape == (1, *shapes[m][-depth][0])
    # The auxiliary classifier reads both pooled maps.
    deepest = model.between_stages['1']
    assert deepest.fc.in_features == 8 * b + shapes['skeleton'][-1][1]


def test_synthetic_config_forward_runs_through_the_amrs():
    model = MODELS.build(load_config().model).eval()
    shapes = load_config().model.amr.input_shapes
    gen = torch.Generator().manual_seed(0)
    inputs = {m: torch.rand(2, *s, generator=gen) for m, s in shapes.items()}
    with torch.no_grad():
        logits = model.logits(inputs)
    assert logits.shape == (2, 10)
    assert torch.isfinite(logits).all()


def test_four_amrs_on_the_synthetic_config_name_the_c3d_stages():
    with pytest.raises(ValueError, match=r'StagedC3D \(rgb\) has 3\b'):
        MODELS.build(load_config(num_modules=4).model)
    # A module between stages checks the count with the backbone's own
    # StagedBackbone.check_stage_count message.
    model = MODELS.build(load_config(num_modules=0).model)
    with pytest.raises(
            ValueError, match='4 stages of StagedC3D, which has only 3'):
        model.add_between_stages(4, nn.Identity())


def test_max_head_pools_the_strongest_response_and_stages_still_average():
    model = StagedC3D(head_pool='max').eval()
    x = model.forward_stem(torch.randn(2, *CLIP))
    for i in range(model.num_stages):
        x = model.forward_stage(i, x)
    assert torch.equal(model.forward_head(x), x.amax(dim=(2, 3, 4)))
    assert torch.equal(model.pool_stage(x), x.mean(dim=(2, 3, 4)))
    with pytest.raises(ValueError, match='head_pool'):
        StagedC3D(head_pool='median')


def test_norm_eval_freezes_batchnorm_statistics():
    model = StagedC3D(norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm3d)]
    before = [bn.running_mean.clone() for bn in bns]
    model(torch.randn(2, *CLIP))
    assert all(not bn.training for bn in bns)
    assert all(torch.equal(b, bn.running_mean) for b, bn in zip(before, bns))
    # Without it the statistics move.
    plain = StagedC3D().train()
    stem_bn = plain.stem[1]
    mean = stem_bn.running_mean.clone()
    plain(torch.randn(2, *CLIP))
    assert not torch.equal(mean, stem_bn.running_mean)
