# Copyright (c) mmamr contributors. All rights reserved.
"""Every config builds its model; the adversarial ones say what the paper
says; AMR input shapes agree with the pipelines; the backbone-swap config
trains one step."""
import copy
from pathlib import Path

import pytest
import torch
from mmaction.registry import LOOPS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import EpochBasedTrainLoop

import mmamr  # noqa: F401  (registers the plugin)

ROOT = Path(__file__).resolve().parents[1] / 'configs'
CONFIGS = sorted(
    str(p.relative_to(ROOT)) for p in ROOT.rglob('*.py')
    if '_base_' not in p.parts)
# Built at their real size; the other InceptionI3D configs get a thin I3D
# (the structure, AMR placement and input shapes are unchanged).
FULL_SIZE = {'amr_i3d_hcn_ntu.py', 'amr_c3d_hcn_synthetic.py'}

PGD10 = dict(
    type='PGD',
    eps=dict(rgb=8 / 255, skeleton=8 / 255),
    alpha=dict(rgb=2 / 255, skeleton=2 / 255),
    steps=10,
    random_start=True,
    targets='both')
# config -> (mode, attacked modalities, number of AMRs, λ)
ADVERSARIAL = {
    'amr_i3d_hcn_ntu.py': ('amr', 'both', 3, 1.0),
    'amr_c3d_hcn_synthetic.py': ('amr', 'both', 3, 1.0),
    'amr_slowonly_stgcn_synthetic.py': ('amr', 'both', 3, 1.0),
    'ablations/amr_0_i3d_hcn_ntu.py': ('madry', 'both', 0, 1.0),
    'ablations/amr_1_i3d_hcn_ntu.py': ('amr', 'both', 1, 1.0),
    'ablations/amr_2_i3d_hcn_ntu.py': ('amr', 'both', 2, 1.0),
    'ablations/amr_3_i3d_hcn_ntu.py': ('amr', 'both', 3, 1.0),
    'ablations/amr_1_lambda_0p1_i3d_hcn_ntu.py': ('amr', 'both', 1, 0.1),
    'ablations/amr_1_lambda_0p5_i3d_hcn_ntu.py': ('amr', 'both', 1, 0.5),
    'ablations/amr_1_lambda_1_i3d_hcn_ntu.py': ('amr', 'both', 1, 1.0),
    'ablations/amr_1_lambda_2_i3d_hcn_ntu.py': ('amr', 'both', 1, 2.0),
    'ablations/amr_1_lambda_5_i3d_hcn_ntu.py': ('amr', 'both', 1, 5.0),
    # iMiGUE: 1 AMR (§4.2); Tables 4, 5 and 8.
    'amr_i3d_hcn_imigue.py': ('amr', 'both', 1, 1.0),
    'ablations/amr_0_i3d_hcn_imigue.py': ('madry', 'both', 0, 1.0),
    'ablations/amr_1_i3d_hcn_imigue.py': ('amr', 'both', 1, 1.0),
    'ablations/amr_2_i3d_hcn_imigue.py': ('amr', 'both', 2, 1.0),
    'ablations/amr_3_i3d_hcn_imigue.py': ('amr', 'both', 3, 1.0),
    'ablations/amr_1_lambda_0p1_i3d_hcn_imigue.py': ('amr', 'both', 1, 0.1),
    'ablations/amr_1_lambda_0p5_i3d_hcn_imigue.py': ('amr', 'both', 1, 0.5),
    'ablations/amr_1_lambda_1_i3d_hcn_imigue.py': ('amr', 'both', 1, 1.0),
    'ablations/amr_1_lambda_2_i3d_hcn_imigue.py': ('amr', 'both', 1, 2.0),
    'ablations/amr_1_lambda_5_i3d_hcn_imigue.py': ('amr', 'both', 1, 5.0),
    # The control beyond the paper: Eq. 12 with S = 0.
    'ablations/amr_loss_s0_i3d_hcn_ntu.py': ('amr', 'both', 0, 1.0),
    'ablations/amr_loss_s0_i3d_hcn_imigue.py': ('amr', 'both', 0, 1.0),
}
for _data in ('ntu', 'imigue', 'synthetic'):
    for _target in ('rgb', 'skeleton', 'both'):
        _model = 'c3d' if _data == 'synthetic' else 'i3d'
        ADVERSARIAL[f'baselines/at_{_target}_{_model}_hcn_{_data}.py'] = (
            'madry', _target, 0, 1.0)
# mmaction2's RGB-pose model with AMR: its own pipelines (heatmaps) and
# schedule.
OTHER_FAMILY = {'plug_and_play/amr_rgbposec3d_ntu.py'}
ADVERSARIAL['plug_and_play/amr_rgbposec3d_ntu.py'] = ('amr', 'both', 2, 1.0)


def load(name: str) -> Config:
    cfg = Config.fromfile(str(ROOT / name))
    rgb = cfg.model.get('rgb_backbone')
    if name not in FULL_SIZE and rgb and rgb.type == 'InceptionI3D':
        rgb.width_multiplier = 0.125
    return cfg


def test_every_adversarial_config_is_listed():
    listed = set(ADVERSARIAL)
    adversarial = {
        name
        for name in CONFIGS
        if Config.fromfile(str(ROOT / name)).model.get('train_cfg')
    }
    assert adversarial == listed


@pytest.mark.parametrize('name', CONFIGS)
def test_config_builds_its_model_and_training(name):
    """The model builds its training objective from model.train_cfg; the
    top-level train_cfg is the schedule alone."""
    cfg = load(name)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    # mmengine's epoch loop (the real-data configs: its mid-epoch
    # resumable subclass, docs/cluster.md).
    assert issubclass(LOOPS.get(cfg.train_cfg.type), EpochBasedTrainLoop)
    train_cfg = cfg.model.get('train_cfg')
    if not train_cfg:
        assert name not in ADVERSARIAL
        assert model.adversarial_training is None
        return
    mode, targets, num_amrs, lam = ADVERSARIAL[name]
    assert (train_cfg.mode, train_cfg.get('lam', 1.0)) == (mode, lam)
    assert train_cfg.attack == dict(PGD10, targets=targets)
    assert len(model.between_stages) == num_amrs
    training = model.adversarial_training
    assert (training.mode, training.lam) == (mode, lam)
    assert training.attack.steps == 10
    assert training.attack.targets == targets
    if num_amrs:
        assert dict(type='AMRWeightsHook') in cfg.custom_hooks
    if name.endswith('_ntu.py') and name not in OTHER_FAMILY:
        # The paper's schedule: SGD lr 0.01, momentum 0.9, wd 5e-4,
        # cosine over 80 epochs, 2 per GPU x 8 = 16.
        assert cfg.optim_wrapper.optimizer == dict(
            type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
        assert cfg.train_cfg.max_epochs == 80
        assert cfg.param_scheduler[0].type == 'CosineAnnealingLR'
        assert cfg.train_dataloader.batch_size == 2
    if name.endswith('_imigue.py'):
        # The same with 40 epochs.
        assert cfg.optim_wrapper.optimizer == dict(
            type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
        assert cfg.train_cfg.max_epochs == 40
        assert cfg.param_scheduler[0].T_max == 40
        assert cfg.train_dataloader.batch_size == 2


def pipeline_clip(pipeline):
    """(RGB clip shape, skeleton clip shape without V, C) of a pipeline."""
    sizes = dict()
    for step in pipeline:
        if step.type == 'RGBSkeletonSampleFrames':
            clip_len = step.clip_len
        elif step.type == 'Resize' and not step.get('keep_ratio', True):
            sizes['hw'] = tuple(step.scale)[::-1]
        elif step.type == 'CenterCrop':
            sizes['hw'] = (step.crop_size, ) * 2
        elif step.type == 'FormatSkeletonInput':
            sizes['persons'] = step.num_person
    rgb = (3, clip_len['RGB'], *sizes['hw'])
    return rgb, (sizes['persons'], clip_len['Pose'])


@pytest.mark.parametrize('name', [
    n for n in CONFIGS
    if ADVERSARIAL.get(n, (0, 0, 0))[2] and n not in OTHER_FAMILY
])
def test_amr_input_shapes_are_the_pipelines_clips(name):
    cfg = Config.fromfile(str(ROOT / name))
    shapes = cfg.model.amr.input_shapes
    for pipeline in (cfg.train_pipeline, cfg.val_pipeline):
        rgb, (persons, frames) = pipeline_clip(pipeline)
        assert tuple(shapes['rgb']) == rgb
        # 25 joints x (x, y, z) (NTU) or (x, y) (iMiGUE's BODY_25).
        channels = cfg.model.skeleton_backbone.get('in_channels', 3)
        assert tuple(shapes['skeleton']) == (persons, frames, 25, channels)


@pytest.mark.parametrize(
    'name', ['amr_slowonly_stgcn_synthetic.py', 'amr_c3d_hcn_synthetic.py'])
def test_amr_config_trains_one_step(name):
    """Other backbones get AMR training from a config alone."""
    cfg = load(name)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    shapes = cfg.model.amr.input_shapes
    gen = torch.Generator().manual_seed(0)
    data = dict(
        inputs=dict(
            rgb=[
                torch.randint(0, 256, (1, *shapes['rgb']),
                              generator=gen).to(torch.uint8) for _ in range(2)
            ],
            skeleton=[
                torch.rand(1, *shapes['skeleton'], generator=gen)
                for _ in range(2)
            ]),
        data_samples=[
            ActionDataSample().set_gt_label(label) for label in (0, 1)
        ])
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(data, optim_wrapper)
    assert {'loss_clean', 'loss_adv', 'loss_aux'} <= set(log_vars)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    for depth in ('1', '2', '3'):
        for m in ('rgb', 'skeleton'):
            key = f'between_stages.{depth}.weights.{m}'
            assert not torch.equal(model.state_dict()[key], before[key]), key
    assert type(model.branches['skeleton']).__name__ in ('HCN', 'StagedSTGCN')


# The defence rows of Table 2 (Tian & Xu's MinSim, ExFMem and both) on
# each dataset: the undefended config plus the defence, nothing else.
DEFENCES = {
    f'defences/{row}_{"c3d" if data == "synthetic" else "i3d"}_hcn_{data}'
    '.py': (row, data)
    for row in ('minsim', 'exfmem', 'minsim_exfmem')
    for data in ('ntu', 'imigue', 'synthetic')
}


def test_every_defence_row_has_a_config():
    assert set(DEFENCES) == {n for n in CONFIGS if n.startswith('defences/')}


@pytest.mark.parametrize('name', sorted(DEFENCES))
def test_defence_config_is_its_base_plus_the_defence(name):
    row, data = DEFENCES[name]
    cfg = Config.fromfile(str(ROOT / name))
    model_name = 'c3d' if data == 'synthetic' else 'i3d'
    base = Config.fromfile(str(ROOT / f'{model_name}_hcn_{data}.py'))
    model = copy.deepcopy(cfg.model.to_dict())
    minsim = model.pop('minsim', None)
    defence = model.pop('feature_defence', None)
    assert model == base.model.to_dict()
    assert cfg.train_cfg == base.train_cfg
    assert cfg.optim_wrapper == base.optim_wrapper
    assert cfg.train_dataloader == base.train_dataloader
    assert cfg.test_dataloader == base.test_dataloader
    if 'minsim' in row:
        assert minsim == dict(type='MinSimLoss', loss_weight=1.0)
    else:
        assert minsim is None
    if 'exfmem' in row:
        # λ = 0.1, a = 0.5, ‖Δh‖ < 8e-4 or 2000 iterations (the
        # reference's); 1024 atoms where the training set has them.
        assert defence == dict(
            type='ExFMem',
            num_atoms=512 if data == 'synthetic' else 1024,
            lam=0.1,
            blend=0.5,
            tol=8e-4,
            max_iters=2000)
        # Built after training: no validation while training.
        assert cfg.val_cfg is None and cfg.val_dataloader is None
    else:
        assert defence is None
        assert cfg.val_cfg == base.val_cfg
    init_default_scope('mmaction')
    model = MODELS.build(load(name).model)
    assert (model.minsim is not None) == ('minsim' in row)
    assert (model.feature_defence is not None) == ('exfmem' in row)
