# Copyright (c) mmamr contributors. All rights reserved.
"""A checkpoint that fills none of the model's weights is refused, before
anything is loaded; a partial one (no classifier) still loads."""
from pathlib import Path

import pytest
import torch
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.engine.hooks.checkpoint_keys_hook import (CheckpointKeysHook,
                                                     load_checked_checkpoint)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'c3d_hcn_synthetic.py'
RGB = 'branches.rgb.'


def build(seed: int = 0) -> torch.nn.Module:
    """The synthetic two-stream model (StagedC3D + HCN)."""
    torch.manual_seed(seed)
    # A Runner made by an earlier test leaves its scope as the default.
    with DefaultScope.overwrite_default_scope('mmaction'):
        model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    model.init_weights()
    return model


def rgb_only_state(model) -> dict:
    """The model's RGB branch as mmaction2's single-stream recognizers name
    it (``backbone.*``), with an RGB-only classifier whose bias happens to
    have the shape of the two-stream one."""
    own = model.state_dict()
    state = {
        'backbone.' + k[len(RGB):]: v.clone()
        for k, v in own.items() if k.startswith(RGB)
    }
    num_classes, _ = own['cls_head.fc_cls.weight'].shape
    state['cls_head.fc_cls.weight'] = torch.randn(num_classes, 7)
    state['cls_head.fc_cls.bias'] = torch.zeros(num_classes)
    return state


def save(state: dict, path: Path, wrap: bool = True) -> Path:
    torch.save(dict(state_dict=state, meta=dict()) if wrap else state, path)
    return path


def assert_same_state(a: dict, b: dict, prefix: str = ''):
    keys = [k for k in a if k.startswith(prefix)]
    assert keys
    for key in keys:
        assert torch.equal(a[key], b[key]), key


def test_rgb_only_checkpoint_is_refused_naming_file_and_prefixes(tmp_path):
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = save(rgb_only_state(build(seed=1)), tmp_path / 'i3d_rgb.pth')
    with pytest.raises(RuntimeError) as info:
        load_checked_checkpoint(model, str(path))
    message = str(info.value)
    assert str(path) in message
    assert 'backbone.' in message and RGB in message
    assert 'branches.skeleton.' in message
    assert_same_state(before, model.state_dict())  # nothing was loaded


def test_checkpoint_of_the_model_loads(tmp_path):
    model, trained = build(), build(seed=1)
    path = save(trained.state_dict(), tmp_path / 'epoch_1.pth')
    checkpoint = load_checked_checkpoint(model, str(path))
    assert 'state_dict' in checkpoint
    assert_same_state(trained.state_dict(), model.state_dict())


def test_data_parallel_keys_without_wrapper_load(tmp_path):
    model, trained = build(), build(seed=1)
    state = {'module.' + k: v for k, v in trained.state_dict().items()}
    load_checked_checkpoint(model, str(save(state, tmp_path / 'a.pth', False)))
    assert_same_state(trained.state_dict(), model.state_dict())


def test_checkpoint_without_classifier_still_loads(tmp_path):
    model, trained = build(), build(seed=1)
    head = model.state_dict()['cls_head.fc_cls.weight'].clone()
    state = {
        k: v
        for k, v in trained.state_dict().items()
        if not k.startswith('cls_head.')
    }
    load_checked_checkpoint(model, str(save(state, tmp_path / 'a.pth')))
    assert_same_state(trained.state_dict(), model.state_dict(), 'branches.')
    assert torch.equal(model.state_dict()['cls_head.fc_cls.weight'], head)


def runner_loading(model, path: Path, work_dir: Path) -> Runner:
    runner = Runner(
        model=model,
        work_dir=str(work_dir),
        load_from=str(path),
        default_scope='mmaction')
    runner.register_hook(CheckpointKeysHook())
    return runner


def test_hook_refuses_in_the_runner_before_loading(tmp_path):
    model = build()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    path = save(rgb_only_state(build(seed=1)), tmp_path / 'i3d_rgb.pth')
    runner = runner_loading(model, path, tmp_path / 'work')
    with pytest.raises(RuntimeError, match='i3d_rgb.pth'):
        runner.load_or_resume()
    assert_same_state(before, model.state_dict())


def test_hook_lets_the_models_own_checkpoint_load(tmp_path):
    model, trained = build(), build(seed=1)
    path = save(trained.state_dict(), tmp_path / 'epoch_1.pth')
    runner_loading(model, path, tmp_path / 'work').load_or_resume()
    assert_same_state(trained.state_dict(), model.state_dict())
