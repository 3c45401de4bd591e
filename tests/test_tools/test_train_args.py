# Copyright (c) mmamr contributors. All rights reserved.
"""tools/train.py's flags -> the config the Runner gets."""
import importlib.util
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'c3d_hcn_synthetic.py'


@pytest.fixture(scope='module')
def train_tool():
    spec = importlib.util.spec_from_file_location('mmamr_train_tool',
                                                  ROOT / 'tools' / 'train.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configure(train_tool, monkeypatch, cfg, *flags):
    monkeypatch.setattr(sys, 'argv', ['train.py', str(CONFIG), *flags])
    return train_tool.merge_args(cfg, train_tool.parse_args())


@pytest.mark.parametrize('randomness', [None, dict(seed=3)])
def test_deterministic_flag_reaches_the_runner(train_tool, monkeypatch,
                                               randomness):
    cfg = Config.fromfile(str(CONFIG))
    if randomness is not None:
        # A config with its own randomness: the flag used to be dropped.
        cfg.randomness = randomness
    cfg = configure(train_tool, monkeypatch, cfg, '--deterministic')
    assert cfg.randomness.deterministic is True
    assert cfg.randomness.seed == (3 if randomness else None)


def test_without_the_flag_nothing_is_deterministic(train_tool, monkeypatch):
    cfg = configure(train_tool, monkeypatch, Config.fromfile(str(CONFIG)),
                    '--seed', '5')
    assert cfg.randomness.seed == 5
    assert not cfg.randomness.deterministic
