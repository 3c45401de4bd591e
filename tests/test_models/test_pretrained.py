# Copyright (c) mmamr contributors. All rights reserved.
"""Pretrained initialisation: upstream checkpoints load completely, and
the loaded backbones compute what the upstream networks compute.

Nothing is downloaded: each test writes a checkpoint in the upstream
layout itself, with random values. The pytorch_i3d layout (names, shapes,
no ``num_batches_tracked``) and its forward pass are transcribed below
from piergiaj/pytorch-i3d ``pytorch_i3d.py``; the I3D-R50 checkpoint is
the state of mmaction2's own ``Recognizer3D`` built from its
``_base_/models/i3d_r50.py``.
"""
import math
import os.path as osp
from collections import OrderedDict
from pathlib import Path

import mmaction
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmamr.models.backbones import InceptionI3D, StagedResNet3d

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
MMACTION_I3D_R50 = osp.join(
    osp.dirname(mmaction.__file__), '.mim/configs/_base_/models/i3d_r50.py')

# pytorch_i3d.py: the Unit3D endpoints (name, in, out, kernel, stride) and
# the InceptionModule endpoints (name, in, [b0, b1a, b1b, b2a, b2b, b3b]).
UPSTREAM_UNITS = [
    ('Conv3d_1a_7x7', 3, 64, 7, 2),
    ('Conv3d_2b_1x1', 64, 64, 1, 1),
    ('Conv3d_2c_3x3', 64, 192, 3, 1),
]
UPSTREAM_MIXED = [
    ('Mixed_3b', 192, [64, 96, 128, 16, 32, 32]),
    ('Mixed_3c', 256, [128, 128, 192, 32, 96, 64]),
    ('Mixed_4b', 128 + 192 + 96 + 64, [192, 96, 208, 16, 48, 64]),
    ('Mixed_4c', 192 + 208 + 48 + 64, [160, 112, 224, 24, 64, 64]),
    ('Mixed_4d', 160 + 224 + 64 + 64, [128, 128, 256, 24, 64, 64]),
    ('Mixed_4e', 128 + 256 + 64 + 64, [112, 144, 288, 32, 64, 64]),
    ('Mixed_4f', 112 + 288 + 64 + 64, [256, 160, 320, 32, 128, 128]),
    ('Mixed_5b', 256 + 320 + 128 + 128, [256, 160, 320, 32, 128, 128]),
    ('Mixed_5c', 256 + 320 + 128 + 128, [384, 192, 384, 48, 128, 128]),
]
# InceptionModule's Unit3Ds: (name, input: 'in' or a width index,
# width index of the output, kernel).
UPSTREAM_BRANCHES = [('b0', 'in', 0, 1), ('b1a', 'in', 1, 1), ('b1b', 1, 2, 3),
                     ('b2a', 'in', 3, 1), ('b2b', 3, 4, 3),
                     ('b3b', 'in', 5, 1)]


def random_unit(state: dict, name: str, cin: int, cout: int, k: int,
                gen: torch.Generator) -> None:
    """A pytorch_i3d Unit3D with BN: conv3d.weight and bn.* (no
    num_batches_tracked: the released files predate PyTorch 0.4)."""
    std = math.sqrt(2. / (cin * k**3))
    state[f'{name}.conv3d.weight'] = torch.randn(
        cout, cin, k, k, k, generator=gen) * std
    state[f'{name}.bn.weight'] = torch.rand(cout, generator=gen) + 0.5
    state[f'{name}.bn.bias'] = torch.randn(cout, generator=gen) * 0.1
    state[f'{name}.bn.running_mean'] = torch.randn(cout, generator=gen) * 0.1
    state[f'{name}.bn.running_var'] = torch.rand(cout, generator=gen) + 0.5


def pytorch_i3d_state(num_classes: int = 400, seed: int = 0) -> OrderedDict:
    """A random state dict in the layout of pytorch_i3d's InceptionI3d."""
    gen = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    # The logits Unit3D is registered before the endpoints (build()).
    state['logits.conv3d.weight'] = torch.randn(
        num_classes, 1024, 1, 1, 1, generator=gen) * 0.01
    state['logits.conv3d.bias'] = torch.zeros(num_classes)
    for name, cin, cout, k, _ in UPSTREAM_UNITS:
        random_unit(state, name, cin, cout, k, gen)
    for name, cin, widths in UPSTREAM_MIXED:
        for branch, source, out, k in UPSTREAM_BRANCHES:
            branch_in = cin if source == 'in' else widths[source]
            random_unit(state, f'{name}.{branch}', branch_in, widths[out], k,
                        gen)
    return state


def upstream_pad(x: torch.Tensor, kernel, stride) -> torch.Tensor:
    """pytorch_i3d's dynamic 'same' padding (compute_pad), zeros."""
    pad = []
    for size, k, s in zip(x.shape[:1:-1], kernel[::-1], stride[::-1]):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pad += [total // 2, total - total // 2]
    return F.pad(x, pad)


def upstream_unit(x, state, name, k, s=1):
    kernel, stride = (k, ) * 3, (s, ) * 3
    x = F.conv3d(
        upstream_pad(x, kernel, stride),
        state[f'{name}.conv3d.weight'],
        stride=stride)
    x = F.batch_norm(
        x,
        state[f'{name}.bn.running_mean'],
        state[f'{name}.bn.running_var'],
        state[f'{name}.bn.weight'],
        state[f'{name}.bn.bias'],
        training=False,
        eps=1e-3)
    return F.relu(x)


def upstream_pool(x, kernel, stride):
    # MaxPool3dSamePadding pads with zeros, not -inf.
    return F.max_pool3d(upstream_pad(x, kernel, stride), kernel, stride)


def upstream_mixed_5c(x: torch.Tensor, state: dict) -> torch.Tensor:
    """pytorch_i3d's InceptionI3d forward up to Mixed_5c, in eval mode,
    from a state dict: ``[N, 3, T, H, W]`` in [-1, 1] -> Mixed_5c."""
    pools = dict(
        Mixed_3b=((1, 3, 3), (1, 2, 2)),
        Mixed_4b=((3, 3, 3), (2, 2, 2)),
        Mixed_5b=((2, 2, 2), (2, 2, 2)))
    x = upstream_unit(x, state, 'Conv3d_1a_7x7', 7, 2)
    x = upstream_pool(x, (1, 3, 3), (1, 2, 2))
    x = upstream_unit(x, state, 'Conv3d_2b_1x1', 1)
    x = upstream_unit(x, state, 'Conv3d_2c_3x3', 3)
    for name, _, _ in UPSTREAM_MIXED:
        if name in pools:
            x = upstream_pool(x, *pools[name])
        b0 = upstream_unit(x, state, f'{name}.b0', 1)
        b1 = upstream_unit(
            upstream_unit(x, state, f'{name}.b1a', 1), state, f'{name}.b1b', 3)
        b2 = upstream_unit(
            upstream_unit(x, state, f'{name}.b2a', 1), state, f'{name}.b2b', 3)
        b3 = upstream_unit(
            upstream_pool(x, (3, 3, 3), (1, 1, 1)), state, f'{name}.b3b', 1)
        x = torch.cat([b0, b1, b2, b3], dim=1)
    return x


def run_stages(model, x: torch.Tensor) -> torch.Tensor:
    x = model.forward_stem(x)
    for index in range(model.num_stages):
        x = model.forward_stage(index, x)
    return x


def pretrained(path, **kwargs) -> dict:
    return dict(type='Pretrained', checkpoint=str(path), **kwargs)


def assert_loaded(model_state: dict, upstream: dict, dropped: str) -> None:
    """Every upstream tensor but the classifier sits, unchanged, under
    the same name; the model has no weight the checkpoint lacks."""
    features = {k: v for k, v in upstream.items() if not k.startswith(dropped)}
    own = {k for k in model_state if not k.endswith('num_batches_tracked')}
    assert own == {
        k
        for k in features if not k.endswith('num_batches_tracked')
    }
    for key, value in features.items():
        assert torch.equal(model_state[key], value), key


@pytest.fixture(scope='module')
def i3d_checkpoint(tmp_path_factory):
    """rgb_imagenet.pt's layout: a bare state dict, 400 Kinetics logits."""
    state = pytorch_i3d_state()
    path = tmp_path_factory.mktemp('pytorch_i3d') / 'rgb_imagenet.pt'
    torch.save(state, path)
    return path, state


# pytorch_i3d's Inception I3D


def test_pytorch_i3d_checkpoint_fills_every_weight(i3d_checkpoint):
    path, state = i3d_checkpoint
    model = InceptionI3D(init_cfg=pretrained(path))
    model.init_weights()
    assert_loaded(model.state_dict(), state, dropped='logits.')
    # A few by name, as pytorch_i3d names them.
    for key in ('Conv3d_1a_7x7.conv3d.weight', 'Mixed_3b.b1b.bn.running_var',
                'Mixed_5c.b3b.conv3d.weight'):
        assert torch.equal(model.state_dict()[key], state[key])
    assert model.Conv3d_1a_7x7.conv3d.weight.shape == (64, 3, 7, 7, 7)


def test_charades_checkpoint_and_modern_bn_counters_load(tmp_path):
    """rgb_charades.pt has 157 logits; a file re-saved by a recent PyTorch
    carries num_batches_tracked: both load."""
    state = pytorch_i3d_state(num_classes=157, seed=1)
    for key in [k for k in state if k.endswith('running_var')]:
        state[key.replace('running_var',
                          'num_batches_tracked')] = torch.tensor(7)
    torch.save(state, tmp_path / 'rgb_charades.pt')
    model = InceptionI3D(init_cfg=pretrained(tmp_path / 'rgb_charades.pt'))
    model.init_weights()
    assert_loaded(model.state_dict(), state, dropped='logits.')


def test_pytorch_i3d_weights_compute_the_upstream_features(i3d_checkpoint):
    """Our stages with the loaded weights equal pytorch_i3d's forward
    (TF 'same' padding, zero-padded pools) on an odd-sized clip."""
    path, state = i3d_checkpoint
    model = InceptionI3D(init_cfg=pretrained(path))
    model.init_weights()
    x = torch.rand(
        1, 3, 9, 35, 35, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        ours = run_stages(model.eval(), x)
        reference = upstream_mixed_5c(x, state)
    assert ours.shape == reference.shape == (1, 1024, 2, 2, 2)
    assert reference.abs().max() > 0
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', [
    'pretrained/i3d_ntu_rgb_k400.py', 'pretrained/i3d_hcn_ntu_k400.py',
    'pretrained/i3d_hcn_imigue_k400.py'
])
def test_pytorch_i3d_configs_feed_the_weights_minus_one_to_one(
        name, i3d_checkpoint):
    """The shipped configs load the file into the RGB branch and map the
    model's [0, 1] input to the [-1, 1] the weights were trained on."""
    path, state = i3d_checkpoint
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.model.rgb_backbone.init_cfg == pretrained(
        'data/pretrained/rgb_imagenet.pt')
    assert tuple(cfg.model.rgb_mean) == tuple(cfg.model.rgb_std) == (0.5, ) * 3
    cfg.model.rgb_backbone.init_cfg.checkpoint = str(path)
    init_default_scope('mmaction')
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert_loaded(
        {
            k[len('branches.rgb.'):]: v
            for k, v in model.state_dict().items()
            if k.startswith('branches.rgb.')
        },
        state,
        dropped='logits.')
    x = torch.rand(1, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats, _, _ = model.eval().branch_features(
            dict(rgb=x), modalities=['rgb'])
        reference = upstream_mixed_5c(2 * x - 1, state).mean(dim=(2, 3, 4))
    torch.testing.assert_close(feats['rgb'], reference, rtol=1e-4, atol=1e-5)


def test_checkpoint_of_another_width_is_an_error(i3d_checkpoint):
    path, _ = i3d_checkpoint
    model = InceptionI3D(width_multiplier=0.5, init_cfg=pretrained(path))
    with pytest.raises(RuntimeError) as error:
        model.init_weights()
    message = str(error.value)
    assert str(path) in message and 'shapes differ' in message
    assert ('Conv3d_1a_7x7.conv3d.weight: checkpoint (64, 3, 7, 7, 7), '
            'model (32, 3, 7, 7, 7)') in message


def test_missing_and_foreign_tensors_are_errors(tmp_path, i3d_checkpoint):
    _, state = i3d_checkpoint
    partial = OrderedDict(state)
    del partial['Mixed_4c.b2b.bn.running_var']
    partial['Mixed_4c.b4.conv3d.weight'] = torch.zeros(1)
    torch.save(partial, tmp_path / 'partial.pt')
    model = InceptionI3D(init_cfg=pretrained(tmp_path / 'partial.pt'))
    with pytest.raises(RuntimeError) as error:
        model.init_weights()
    message = str(error.value)
    assert '1 of the model\'s' in message
    assert 'Mixed_4c.b2b.bn.running_var' in message
    assert '1 checkpoint tensors fit no weight (Mixed_4c.b4.conv3d' in message


# A unimodal model's checkpoint into one branch of the two-stream model

TINY_I3D = dict(type='InceptionI3D', width_multiplier=0.125)
HEAD = dict(type='FusionHead', num_classes=5)
SMALL_HCN = dict(type='HCN', clip_len=16, base_channels=32, fc7_channels=32)


def recognizer(rgb=None, skeleton=None):
    init_default_scope('mmaction')
    return MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=rgb,
            skeleton_backbone=skeleton,
            cls_head=HEAD))


def trained_checkpoint(model, path: Path, seed: int) -> Path:
    """Random, non-default weights and BN statistics, saved as mmengine's
    runner saves them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
    torch.save(dict(meta=dict(epoch=80), state_dict=model.state_dict()), path)
    return path


def test_unimodal_checkpoints_initialise_their_branches(tmp_path):
    """RGB-only and skeleton-only mmamr checkpoints each fill their branch
    of the two-stream model (init_cfg with the branch prefix); the branch
    features are those of the unimodal models."""
    rgb_only = recognizer(rgb=TINY_I3D)
    skeleton_only = recognizer(skeleton=SMALL_HCN)
    rgb_file = trained_checkpoint(rgb_only, tmp_path / 'rgb.pth', 0)
    skeleton_file = trained_checkpoint(skeleton_only, tmp_path / 'sk.pth', 1)
    model = recognizer(
        rgb=dict(
            TINY_I3D, init_cfg=pretrained(rgb_file, prefix='branches.rgb.')),
        skeleton=dict(
            SMALL_HCN,
            init_cfg=pretrained(skeleton_file, prefix='branches.skeleton.')))
    model.init_weights()
    state = model.state_dict()
    for source in (rgb_only, skeleton_only):
        for key, value in source.state_dict().items():
            if key.startswith('branches.'):
                assert torch.equal(state[key], value), key
    gen = torch.Generator().manual_seed(2)
    inputs = dict(
        rgb=torch.rand(2, 3, 8, 32, 32, generator=gen),
        skeleton=torch.rand(2, 2, 16, 25, 3, generator=gen))
    with torch.no_grad():
        feats, _, _ = model.eval().branch_features(inputs)
        rgb, _, _ = rgb_only.eval().branch_features(inputs)
        skeleton, _, _ = skeleton_only.eval().branch_features(inputs)
    torch.testing.assert_close(feats['rgb'], rgb['rgb'])
    torch.testing.assert_close(feats['skeleton'], skeleton['skeleton'])


def test_whole_model_checkpoint_without_prefix_names_the_prefix(tmp_path):
    path = trained_checkpoint(
        recognizer(rgb=TINY_I3D), tmp_path / 'rgb.pth', seed=0)
    model = InceptionI3D(width_multiplier=0.125, init_cfg=pretrained(path))
    with pytest.raises(RuntimeError, match="add prefix='branches.rgb.'"):
        model.init_weights()
    model = InceptionI3D(
        width_multiplier=0.125,
        init_cfg=pretrained(path, prefix='branches.skeleton.'))
    with pytest.raises(KeyError, match='no key starts with prefix'):
        model.init_weights()


# mmaction2's I3D-R50 (Kinetics-400 checkpoints) through StagedResNet3d


@pytest.fixture(scope='module')
def i3d_r50_checkpoint(tmp_path_factory):
    """An mmaction2 Kinetics-400 I3D-R50 checkpoint: the state of its own
    Recognizer3D from _base_/models/i3d_r50.py, randomised."""
    cfg = Config.fromfile(MMACTION_I3D_R50).model
    cfg.backbone.pretrained = None  # no download
    init_default_scope('mmaction')
    upstream = MODELS.build(cfg).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, value in upstream.state_dict().items():
            if name.endswith('running_var'):
                value.copy_(torch.rand(value.shape, generator=gen) + 0.5)
            elif value.is_floating_point():
                value.mul_(0.5).add_(
                    torch.randn(value.shape, generator=gen) * 0.02)
    path = tmp_path_factory.mktemp('i3d_r50') / 'i3d_r50_k400.pth'
    torch.save(
        dict(
            meta=dict(mmaction_version='1.2.0'),
            state_dict=upstream.state_dict()), path)
    return path, upstream


def i3d_r50_branch() -> dict:
    return Config.fromfile(str(
        CONFIGS / '_base_/models/i3d_r50_branch.py')).i3d_r50_branch


def test_i3d_r50_branch_has_mmaction2s_settings():
    upstream = Config.fromfile(MMACTION_I3D_R50).model.backbone
    upstream.pretrained = None
    assert i3d_r50_branch().backbone == upstream
    shipped = Config.fromfile(
        str(CONFIGS / 'pretrained/i3d_r50_hcn_ntu_k400.py'))
    rgb = shipped.model.rgb_backbone
    assert rgb.init_cfg.type == 'Pretrained'
    rgb.pop('init_cfg')
    assert rgb == i3d_r50_branch()


def test_mmaction2_i3d_r50_checkpoint_computes_its_features(
        i3d_r50_checkpoint):
    path, upstream = i3d_r50_checkpoint
    model = MODELS.build(dict(i3d_r50_branch(), init_cfg=pretrained(path)))
    model.init_weights()
    assert_loaded(model.state_dict(), upstream.state_dict(), 'cls_head.')
    assert upstream.cls_head.fc_cls.weight.shape == (400, 2048)
    x = torch.randn(
        1, 3, 8, 32, 32, generator=torch.Generator().manual_seed(0))
    assert isinstance(model, StagedResNet3d)
    with torch.no_grad():
        ours = model.eval().forward_head(run_stages(model, x))
        reference = upstream.backbone(x).mean(dim=(2, 3, 4))
    assert ours.shape == (1, 2048)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_bare_resnet3d_state_and_extra_tensors(tmp_path, i3d_r50_checkpoint):
    """A ResNet3d state dict without the recognizer's prefix loads; a
    checkpoint of another variant (non-local blocks) does not."""
    _, upstream = i3d_r50_checkpoint
    bare = upstream.backbone.state_dict()
    torch.save(bare, tmp_path / 'bare.pth')
    model = MODELS.build(
        dict(i3d_r50_branch(), init_cfg=pretrained(tmp_path / 'bare.pth')))
    model.init_weights()
    assert torch.equal(model.backbone.layer4[2].conv3.conv.weight,
                       bare['layer4.2.conv3.conv.weight'])
    bare['layer2.1.non_local_block.g.conv.weight'] = torch.zeros(256, 512)
    torch.save(bare, tmp_path / 'nl.pth')
    model = MODELS.build(
        dict(i3d_r50_branch(), init_cfg=pretrained(tmp_path / 'nl.pth')))
    with pytest.raises(RuntimeError, match='non_local_block'):
        model.init_weights()
