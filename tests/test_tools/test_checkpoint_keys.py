# Copyright (c) mmamr contributors. All rights reserved.
"""The tools that load a user's checkpoint into a model refuse one that
fills none of its weights (an RGB-only checkpoint for the two-stream
model) instead of evaluating random weights."""
import importlib.util

import pytest
import torch
from conftest import ROOT, data_options, run_tool
from mmaction.registry import MODELS
from mmengine.config import Config

import mmamr  # noqa: F401  (registers the plugin, applies compat)

EXFMEM_CONFIG = ROOT / 'configs' / 'defences' / 'exfmem_c3d_hcn_synthetic.py'


def model_state(config) -> dict:
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(config)).model).state_dict()


def rgb_only(state: dict) -> dict:
    """The RGB branch under mmaction2's single-stream name ``backbone``."""
    prefix = 'branches.rgb.'
    return {
        'backbone.' + k[len(prefix):]: v
        for k, v in state.items() if k.startswith(prefix)
    }


def save(state: dict, path):
    torch.save(dict(state_dict=state, meta=dict()), path)
    return path


def load_tool(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_exfmem_refuses_an_rgb_only_checkpoint(tmp_path):
    tool = load_tool(ROOT / 'tools' / 'build_exfmem.py')
    bad = save(rgb_only(model_state(EXFMEM_CONFIG)), tmp_path / 'rgb.pth')
    with pytest.raises(RuntimeError) as info:
        tool.main([
            str(EXFMEM_CONFIG),
            str(bad), '--out',
            str(tmp_path / 'out.pth'), '--device', 'cpu'
        ])
    assert str(bad) in str(info.value)
    assert 'branches.rgb.' in str(info.value)
    assert not (tmp_path / 'out.pth').exists()


@pytest.mark.slow
def test_test_tool_refuses_an_rgb_only_checkpoint_and_tests_its_own(
        synthetic_data, deterministic_config, tmp_path):
    state = model_state(deterministic_config)
    options = ['--cfg-options'] + data_options(synthetic_data, test_samples=2)
    bad = save(rgb_only(state), tmp_path / 'rgb.pth')
    proc = run_tool(
        [
            'tools/test.py', deterministic_config, bad, '--work-dir',
            tmp_path / 'bad'
        ] + options,
        check=False)
    assert proc.returncode != 0
    assert 'RuntimeError' in proc.stderr and str(bad) in proc.stderr
    assert 'acc/top1' not in proc.stdout + proc.stderr  # never tested

    own = save(state, tmp_path / 'own.pth')
    proc = run_tool([
        'tools/test.py', deterministic_config, own, '--work-dir', tmp_path /
        'own'
    ] + options)
    assert 'acc/top1' in proc.stdout + proc.stderr


@pytest.mark.slow
def test_train_tool_refuses_an_rgb_only_load_from(synthetic_data,
                                                  deterministic_config,
                                                  tmp_path):
    bad = save(
        rgb_only(model_state(deterministic_config)), tmp_path / 'rgb.pth')
    work_dir = tmp_path / 'work'
    proc = run_tool(
        [
            'tools/train.py', deterministic_config, '--work-dir', work_dir,
            '--no-validate', '--cfg-options', f'load_from={bad}',
            'train_cfg.max_epochs=1'
        ] + data_options(synthetic_data, train_batch=4, train_samples=4),
        check=False)
    assert proc.returncode != 0
    assert 'RuntimeError' in proc.stderr and str(bad) in proc.stderr
    assert not list(work_dir.glob('*.pth'))  # never trained
