# Copyright (c) mmamr contributors. All rights reserved.
"""AMR (paper §3.3) and its wiring into the recognizer (DESIGN.md D1-D4)."""
import inspect

import pytest
import torch
from mmaction.registry import MODELS

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.attacks import PGD
from mmamr.models import AMR

N, T, SIZE, M, V, K = 2, 16, 32, 2, 25, 5
INPUT_SHAPES = dict(rgb=(3, T, SIZE, SIZE), skeleton=(M, T, V, 3))


def build(num_modules=3, init='uniform', rgb=None, skeleton=None, **amr):
    """Tiny I3D + HCN; uniform init so that AMR is not the identity."""
    cfg = dict(
        type='RGBSkeletonRecognizer',
        rgb_backbone=rgb or dict(type='InceptionI3D', width_multiplier=0.125),
        skeleton_backbone=skeleton or dict(
            type='HCN', base_channels=32, clip_len=T, fc7_channels=16,
            dropout=0.),
        cls_head=dict(type='FusionHead', num_classes=K, dropout_ratio=0.))
    if num_modules is not None:
        cfg['amr'] = dict(
            num_modules=num_modules,
            init=init,
            input_shapes=INPUT_SHAPES,
            **amr)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def make_inputs(seed=1):
    gen = torch.Generator().manual_seed(seed)
    return dict(
        rgb=torch.rand(N, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(N, M, T, V, 3, generator=gen))


def stage_maps(model, inputs):
    """Every stage output of both branches, run by hand (no AMR)."""
    folded = model.normalize(inputs)
    maps = dict()
    for m, backbone in model.branches.items():
        x = backbone.forward_stem(folded[m])
        maps[m] = []
        for i in range(backbone.num_stages):
            x = backbone.forward_stage(i, x)
            maps[m].append(x)
    return maps


def test_amr_reweights_elementwise_and_predicts_from_pooled_maps():
    amr = AMR(dict(rgb=(8, 2, 4, 4), skeleton=(6, 4, 3)), K, init='uniform')
    x_r, x_s = torch.rand(3, 8, 2, 4, 4), torch.rand(3, 6, 4, 3)
    out = amr(dict(rgb=x_r, skeleton=x_s))
    w_r, w_s = amr.weights['rgb'], amr.weights['skeleton']
    assert w_r.shape == (1, 8, 2, 4, 4) and w_s.shape == (1, 6, 4, 3)
    assert torch.equal(out['rgb'], x_r * w_r)
    assert torch.equal(out['skeleton'], x_s * w_s)
    # Eq. 9-10: 3-D and 2-D global average pooling, concatenation, FC.
    z = torch.cat([(x_r * w_r).mean(dim=(2, 3, 4)),
                   (x_s * w_s).mean(dim=(2, 3))], dim=1)
    torch.testing.assert_close(out['aux_logits'], amr.fc(z))
    assert out['aux_logits'].shape == (3, K)


def test_amr_alone_on_one_modality_gives_no_prediction():
    amr = AMR(dict(rgb=(8, 2, 4, 4), skeleton=(6, 4, 3)), K, init='uniform')
    x_s = torch.rand(3, 6, 4, 3)
    out = amr(dict(skeleton=x_s))
    assert set(out) == {'skeleton'}
    assert torch.equal(out['skeleton'], x_s * amr.weights['skeleton'])
    with pytest.raises(KeyError, match='depth'):
        amr(dict(depth=x_s))


def test_amr_refuses_maps_of_another_size_instead_of_broadcasting():
    amr = AMR(dict(rgb=(8, 2, 4, 4), skeleton=(6, 4, 3)), K)
    # T = 1 would broadcast against W's T = 2 without the check.
    with pytest.raises(ValueError, match=r'rgb maps \[B, 8, 2, 4, 4\].*'
                       'input_shapes'):
        amr(dict(rgb=torch.rand(3, 8, 1, 4, 4)))


@pytest.mark.parametrize('init', ['ones', 'uniform'])
def test_amr_init(init):
    amr = AMR(dict(rgb=(64, 2, 4, 4), skeleton=(32, 4, 3)), K, init=init)
    for weight in amr.weights.values():
        if init == 'ones':
            assert torch.equal(weight, torch.ones_like(weight))
        else:
            assert 0 <= weight.min() and weight.max() < 1
            assert 0.4 < weight.mean() < 0.6
    # D4: the documented default.
    assert inspect.signature(AMR).parameters['init'].default == 'ones'


def test_bad_init_name_is_a_clear_error():
    with pytest.raises(ValueError, match="init='xavier'.*'ones', 'uniform'"):
        build(init='xavier')


def test_amr_i_sits_after_the_i_th_deepest_stage_of_both_branches():
    model = build()
    maps = stage_maps(model, make_inputs())
    for depth in (1, 2, 3):
        amr = model.between_stages[str(depth)]
        assert isinstance(amr, AMR)
        for m in ('rgb', 'skeleton'):
            expected = maps[m][-depth].shape[1:]
            assert amr.weights[m].shape == (1, *expected)
    # HCN's maps are per person: W_S is shared by the persons.
    assert maps['skeleton'][-1].shape[0] == N * M


def test_model_output_is_the_branches_with_reweighted_maps():
    model = build(num_modules=1)
    inputs = make_inputs()
    folded = model.normalize(inputs)
    amr = model.between_stages['1']
    feats = dict()
    for m, backbone in model.branches.items():
        x = backbone.forward_stem(folded[m])
        for i in range(backbone.num_stages):
            x = backbone.forward_stage(i, x)
        feats[m] = backbone.forward_head(x * amr.weights[m])
    expected = model.cls_head(torch.cat([feats['rgb'], feats['skeleton']],
                                        1))
    torch.testing.assert_close(model(inputs), expected)


def test_branch_features_return_each_amr_prediction():
    model = build()
    inputs = make_inputs()
    maps = stage_maps(model, inputs)
    feats, batch, views, aux = model.branch_features(inputs, return_aux=True)
    assert sorted(aux) == [1, 2, 3] and (batch, views) == (N, 1)
    # Without the flag: the old 3-tuple, same features.
    plain = model.branch_features(inputs)
    assert len(plain) == 3
    torch.testing.assert_close(plain[0]['rgb'], feats['rgb'])
    # AMR 3 sees the unweighted maps of the third deepest stage; its
    # prediction pools them with the backbones' pool_stage (HCN: mean per
    # person, then max over persons: one row per sample).
    amr = model.between_stages['3']
    pooled = [
        model.branches[m].pool_stage(maps[m][-3] * amr.weights[m])
        for m in ('rgb', 'skeleton')
    ]
    torch.testing.assert_close(aux[3], amr.fc(torch.cat(pooled, 1)))
    assert aux[3].shape == (N, K)
    # Returned, not stored: a second call on other inputs leaves the first
    # result alone and the module keeps no per-call attribute.
    before = aux[1].clone()
    model.branch_features(make_inputs(seed=2), return_aux=True)
    assert torch.equal(aux[1], before)
    assert not any(
        torch.is_tensor(v) for v in vars(amr).values() if v is not None)


def test_ones_init_is_the_identity_and_zero_amrs_the_plain_model():
    plain = build(num_modules=None)
    zero = build(num_modules=0)
    ones = build(num_modules=3, init='ones')
    assert len(zero.between_stages) == 0
    assert zero.state_dict().keys() == plain.state_dict().keys()
    zero.load_state_dict(plain.state_dict())
    ones.load_state_dict(plain.state_dict(), strict=False)
    inputs = make_inputs()
    reference = plain(inputs)
    torch.testing.assert_close(zero(inputs), reference, rtol=0, atol=0)
    torch.testing.assert_close(ones(inputs), reference)
    # And the trained (uniform) AMRs do change the function.
    uniform = build(num_modules=3)
    uniform.load_state_dict(plain.state_dict(), strict=False)
    assert not torch.allclose(uniform(inputs), reference, atol=1e-4)


def test_amr_keeps_the_single_modality_fast_path_exact():
    model = build()
    assert not model.branches_interact
    inputs = make_inputs()
    both, _, _, aux = model.branch_features(inputs, return_aux=True)
    for m in ('rgb', 'skeleton'):
        alone, _, _, aux_alone = model.branch_features(
            inputs, [m], return_aux=True)
        assert set(alone) == {m} and aux_alone == {}
        torch.testing.assert_close(alone[m], both[m])
    # The attack's fast path (the other branch computed once) gives the
    # same adversarial example as the full forward.
    labels = torch.tensor([1, 3])
    for targets in ('rgb', 'skeleton'):
        advs = [
            PGD(steps=3, targets=targets, fast_path=fast)(
                model, inputs, labels,
                generator=torch.Generator().manual_seed(0))
            for fast in (True, False)
        ]
        torch.testing.assert_close(advs[0][targets], advs[1][targets])
        assert not torch.equal(advs[0][targets], inputs[targets])


def test_more_amrs_than_stages_names_both_backbones():
    with pytest.raises(ValueError,
                       match=r'num_modules=4.*InceptionI3D \(rgb\) has 4.*'
                       r'HCN \(skeleton\) has 3'):
        build(num_modules=4)
    with pytest.raises(ValueError, match='num_modules=-1'):
        build(num_modules=-1)


@pytest.mark.parametrize('shapes, match', [
    (None, 'input_shapes is required'),
    (dict(rgb=INPUT_SHAPES['rgb']), r"has \['rgb'\]; the model has"),
    (dict(rgb=(3, T, SIZE), skeleton=INPUT_SHAPES['skeleton']),
     r"input_shapes\['rgb'\].*expected 4 sizes"),
    (dict(rgb=INPUT_SHAPES['rgb'], skeleton=(M, T + 8, V, 3)),
     r"input_shapes\['skeleton'\]=\(2, 24, 25, 3\) does not fit the "
     r'skeleton branch \(HCN\)'),
])
def test_input_shapes_inconsistent_with_the_model_are_clear_errors(
        shapes, match):
    cfg = dict(
        type='RGBSkeletonRecognizer',
        rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
        skeleton_backbone=dict(type='HCN', base_channels=32, clip_len=T),
        cls_head=dict(type='FusionHead', num_classes=K),
        amr=dict(num_modules=1, input_shapes=shapes))
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_inputs_of_another_size_than_configured_are_refused():
    model = build(num_modules=3)
    inputs = make_inputs()
    inputs['rgb'] = inputs['rgb'][..., :16, :16]
    with pytest.raises(ValueError, match='input_shapes'):
        model(inputs)


def test_construction_leaves_modes_and_statistics_alone():
    model = build(num_modules=None).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.add_amrs(2, INPUT_SHAPES)
    assert all(m.training for m in model.modules())
    for key, value in before.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_amr_on_other_backbones_without_code_change():
    """StagedResNet3d (ResNet3dSlowOnly) + StagedSTGCN: AMR's shapes and
    pooling come from the stage interface alone."""
    model = build(
        num_modules=2,
        rgb=dict(
            type='StagedResNet3d',
            backbone=dict(
                type='ResNet3dSlowOnly',
                depth=18,
                pretrained=None,
                base_channels=8,
                in_channels=3)),
        skeleton=dict(
            type='StagedSTGCN',
            backbone=dict(
                type='STGCN',
                base_channels=8,
                graph_cfg=dict(layout='nturgb+d', mode='stgcn_spatial'))))
    inputs = make_inputs()
    maps = stage_maps(model, inputs)
    _, _, _, aux = model.branch_features(inputs, return_aux=True)
    assert sorted(aux) == [1, 2] and aux[1].shape == (N, K)
    for depth in (1, 2):
        weights = model.between_stages[str(depth)].weights
        assert weights['rgb'].shape[1:] == maps['rgb'][-depth].shape[1:]
        # ST-GCN maps are per person too: [N * M, C, T, V].
        assert weights['skeleton'].dim() == 4
        assert weights['skeleton'].shape[1:] == maps['skeleton'][
            -depth].shape[1:]


def test_amr_on_i3d_r50_and_hcn(tmp_path):
    """mmaction2's I3D (inflated ResNet-50, its _base_ model config) as
    the RGB branch through StagedResNet3d."""
    from mmengine.config import Config
    cfg = tmp_path / 'i3d_r50.py'
    cfg.write_text("_base_ = ['mmaction::_base_/models/i3d_r50.py']\n")
    backbone = Config.fromfile(str(cfg)).model.backbone
    backbone.update(pretrained=None, pretrained2d=False)
    model = build(
        num_modules=3, rgb=dict(type='StagedResNet3d', backbone=backbone))
    inputs = make_inputs()
    maps = stage_maps(model, inputs)
    _, _, _, aux = model.branch_features(inputs, return_aux=True)
    assert sorted(aux) == [1, 2, 3]
    for depth in (1, 2, 3):
        weights = model.between_stages[str(depth)].weights
        assert weights['rgb'].shape[1:] == maps['rgb'][-depth].shape[1:]
    assert maps['rgb'][-1].shape[1] == 2048
