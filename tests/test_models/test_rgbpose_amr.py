# Copyright (c) mmamr contributors. All rights reserved.
"""AMR is plug-and-play on mmaction2's RGBPoseConv3D, whose pathways
exchange lateral connections (configs/plug_and_play/amr_rgbposec3d_ntu.py).

The model keeps mmaction2's backbone settings; the tests only shrink the
clips (RGB 4 x 64 x 64, heatmaps 16 x 16 x 16: the pose pathway wants 4x
the RGB frames and a quarter of its size) to stay fast on a CPU.
"""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.attacks import PGD
from mmamr.attacks.attacked_forward import AttackedForward

CONFIG = (
    Path(__file__).resolve().parents[2] / 'configs' / 'plug_and_play' /
    'amr_rgbposec3d_ntu.py')
N, K = 2, 60
SHAPES = dict(rgb=(3, 4, 64, 64), skeleton=(17, 16, 16, 16))
EPS = 8 / 255


def load_config(num_modules: int = 2) -> Config:
    cfg = Config.fromfile(str(CONFIG))
    init_default_scope('mmaction')
    cfg.model.backbone.init_cfg = None  # no checkpoint download
    cfg.model.amr.input_shapes = SHAPES
    cfg.model.amr.num_modules = num_modules
    return cfg


def build(num_modules: int = 2, init: str = 'uniform'):
    cfg = load_config(num_modules)
    cfg.model.amr.init = init  # uniform: AMR is not the identity
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


@pytest.fixture(scope='module')
def model():
    return build()


def make_inputs(seed: int = 1) -> dict:
    gen = torch.Generator().manual_seed(seed)
    return dict(
        rgb=torch.rand(N, *SHAPES['rgb'], generator=gen),
        skeleton=torch.rand(N, *SHAPES['skeleton'], generator=gen))


def test_config_keeps_mmaction2_backbone_and_declares_the_coupling(model):
    base = Config.fromfile(str(CONFIG))
    assert base.model.backbone.backbone == base.backbone_cfg
    assert base.model.backbone.backbone.type == 'RGBPoseConv3D'
    assert model.modalities == ('rgb', 'skeleton')
    assert model.branches_interact
    assert len(model.between_stages) == 2
    assert model.cls_head.in_channels == 2048 + 512
    # AMR i sits after the i-th deepest aligned stage of both pathways.
    shapes = model.stage_shapes(SHAPES)
    for depth in (1, 2):
        amr = model.between_stages[str(depth)]
        for m in model.modalities:
            assert tuple(amr.weights[m].shape[1:]) == shapes[m][-depth][0]
    assert shapes['rgb'][-1][0] == (2048, 4, 2, 2)
    assert shapes['skeleton'][-1][0] == (512, 16, 2, 2)


@pytest.mark.parametrize('training', [False, True])
def test_adapter_is_rgbposeconv3d_stage_by_stage(training):
    """Same weights, same inputs: the stages compose to mmaction2's
    forward exactly, in eval and in train mode (lateral drop-path drawn
    in the same order)."""
    backbone_cfg = Config.fromfile(str(CONFIG)).backbone_cfg.to_dict()
    backbone_cfg.update(rgb_drop_path=0.5, pose_drop_path=0.5)
    torch.manual_seed(0)
    staged = MODELS.build(
        dict(type='StagedRGBPoseConv3D', backbone=copy.deepcopy(backbone_cfg)))
    staged.init_weights()
    reference = MODELS.build(copy.deepcopy(backbone_cfg))
    reference.load_state_dict(staged.backbone.state_dict())
    staged.train(training)
    reference.train(training)
    inputs = make_inputs()
    for seed in range(3):  # train mode: several drop-path draws
        torch.manual_seed(seed)
        maps = staged.forward_stem(inputs)
        for index in range(staged.num_stages):
            maps = staged.forward_stage(index, maps)
        torch.manual_seed(seed)
        rgb, pose = reference(inputs['rgb'], inputs['skeleton'])
        assert torch.equal(maps['rgb'], rgb)
        assert torch.equal(maps['skeleton'], pose)
    feats = staged.forward_head(maps)
    assert {m: f.shape[1] for m, f in feats.items()} == staged.feat_dims


def test_recognizer_without_amr_is_rgbposeconv3d_plus_fusion():
    model = build(num_modules=0)
    reference = MODELS.build(Config.fromfile(str(CONFIG)).backbone_cfg)
    reference.load_state_dict(model.backbone.backbone.state_dict())
    reference.eval()
    inputs = make_inputs()
    with torch.no_grad():
        feats, _, _ = model.branch_features(inputs)
        rgb, pose = reference((inputs['rgb'] - model.rgb_mean) / model.rgb_std,
                              inputs['skeleton'])
    torch.testing.assert_close(feats['rgb'], rgb.mean(dim=(2, 3, 4)))
    torch.testing.assert_close(feats['skeleton'], pose.mean(dim=(2, 3, 4)))


def test_one_branch_cannot_run_alone(model):
    with pytest.raises(RuntimeError, match='interact'):
        model.branch_features(make_inputs(), ['rgb'])


def test_trains_one_amr_step():
    cfg = load_config()
    assert cfg.model.train_cfg.mode == 'amr'
    cfg.model.train_cfg.attack.steps = 2  # PGD-10 in the config
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=dict(
            rgb=[
                torch.randint(0, 256, (1, *SHAPES['rgb']),
                              generator=gen).to(torch.uint8) for _ in range(N)
            ],
            skeleton=[
                torch.rand(1, *SHAPES['skeleton'], generator=gen)
                for _ in range(N)
            ]),
        data_samples=[
            ActionDataSample().set_gt_label(label) for label in range(N)
        ])
    # The optimizer zeroes the gradients after its step: record them.
    grads = dict()
    for depth, amr in model.between_stages.items():
        for m, weight in amr.weights.items():
            key = (depth, m)
            weight.register_hook(
                lambda g, key=key: grads.__setitem__(key, g.clone()))
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(data, optim_wrapper)
    assert {'loss_clean', 'loss_adv', 'loss_aux'} <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    for depth in ('1', '2'):
        for m in ('rgb', 'skeleton'):
            assert grads[(depth, m)].abs().sum() > 0, (depth, m)
            key = f'between_stages.{depth}.weights.{m}'
            assert not torch.equal(model.state_dict()[key], before[key]), key


@pytest.mark.parametrize('targets', ['both', 'rgb', 'skeleton'])
def test_pgd_stays_in_the_ball_and_runs_the_whole_model(model, targets):
    inputs = make_inputs()
    labels = torch.tensor([0, 1])
    attacked = ['rgb', 'skeleton'] if targets == 'both' else [targets]
    # The other modality feeds the attacked one through the laterals:
    # no branch-cached fast path.
    assert not AttackedForward(model, inputs, attacked, N).fast
    advs = [
        PGD(eps=dict(rgb=EPS, skeleton=EPS),
            alpha=dict(rgb=2 / 255, skeleton=2 / 255),
            steps=3,
            targets=targets,
            fast_path=fast)(
                model,
                inputs,
                labels,
                generator=torch.Generator().manual_seed(0))
        for fast in (True, False)
    ]
    for m in ('rgb', 'skeleton'):
        torch.testing.assert_close(advs[0][m], advs[1][m], rtol=0, atol=0)
        delta = (advs[0][m] - inputs[m]).abs().max()
        if m in attacked:
            assert 0 < delta <= EPS + 1e-6
        else:
            assert torch.equal(advs[0][m], inputs[m])
    assert advs[0]['rgb'].min() >= 0 and advs[0]['rgb'].max() <= 1


def test_input_shapes_that_do_not_fit_name_the_config_key():
    cfg = load_config()
    cfg.model.amr.input_shapes = dict(
        rgb=(3, 4, 64, 64), skeleton=(17, 4, 16, 16))  # pose T must be 4x
    with pytest.raises(
            ValueError,
            match=r"amr.input_shapes\['rgb'\]=\(3, 4, 64, 64\) and "
            r"amr.input_shapes\['skeleton'\]=\(17, 4, 16, 16\) do not fit "
            r'the rgb and skeleton branches \(StagedRGBPoseConv3D\)'):
        MODELS.build(cfg.model)


def test_coupled_backbone_excludes_branch_backbones():
    cfg = load_config(num_modules=0)
    with pytest.raises(ValueError, match='either backbone or rgb_backbone'):
        MODELS.build(
            dict(
                cfg.model,
                rgb_backbone=dict(type='InceptionI3D',
                                  width_multiplier=0.125)))
    with pytest.raises(TypeError, match='CoupledStagedBackbone'):
        MODELS.build(dict(cfg.model, backbone=dict(type='HCN', clip_len=16)))


@pytest.mark.parametrize('pipeline', ['train_pipeline', 'val_pipeline'])
def test_amr_input_shapes_are_the_pipelines_clips(pipeline):
    """The packed clips (heatmaps in [0, 1], as attacks perturb them) have
    the shapes the AMR weights are sized for."""
    from mmengine.dataset import Compose
    cfg = Config.fromfile(str(CONFIG))
    init_default_scope('mmaction')
    # After frame sampling and decoding; mmaction2 1.2.0's MMCompact uses
    # np.Inf, which numpy 2 removed, so the frames come compacted.
    steps = cfg[pipeline]
    assert [s.type for s in steps[:3]
            ] == ['MMUniformSampleFrames', 'MMDecode', 'MMCompact']
    rng = np.random.default_rng(0)
    results = dict(
        imgs=[
            rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
            for _ in range(8)
        ],
        keypoint=rng.uniform(20, 100, (1, 32, 17, 2)).astype(np.float32),
        keypoint_score=np.ones((1, 32, 17), np.float32),
        img_shape=(120, 160),
        original_shape=(120, 160),
        label=3,
        frame_dir='S001C001P001R001A004',
        modality='Pose',
        total_frames=32,
        clip_len=dict(RGB=8, Pose=32),
        num_clips=1)
    inputs = Compose(steps[3:])(results)['inputs']
    for m, shape in cfg.model.amr.input_shapes.items():
        assert tuple(inputs[m].shape) == (1, *shape)
    assert 0 <= inputs['skeleton'].min() and inputs['skeleton'].max() <= 1
