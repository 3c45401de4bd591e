# Copyright (c) mmamr contributors. All rights reserved.
"""tools/train.py initialises a branch from a unimodal checkpoint through
the backbone's ``Pretrained`` init_cfg, and refuses one that does not fit
before training starts."""
import pytest
import torch
from conftest import (DETERMINISTIC_MODEL, ROOT, data_options, load_checkpoint,
                      run_tool)
from mmaction.registry import MODELS
from mmengine.config import Config

import mmamr  # noqa: F401  (registers the plugin, applies compat)

RGB_ONLY = ROOT / 'configs' / 'c3d_synthetic_rgb.py'


@pytest.mark.slow
def test_train_tool_starts_the_rgb_branch_from_an_rgb_only_checkpoint(
        synthetic_data, deterministic_config, tmp_path):
    torch.manual_seed(1)
    source = MODELS.build(Config.fromfile(str(RGB_ONLY)).model).state_dict()
    checkpoint = tmp_path / 'rgb_only.pth'
    torch.save(dict(meta=dict(), state_dict=source), checkpoint)
    # lr 0 and frozen BN statistics: the weights after one epoch are the
    # initial ones, so the saved checkpoint shows what was loaded.
    options = DETERMINISTIC_MODEL + data_options(synthetic_data) + [
        'optim_wrapper.optimizer.lr=0', 'train_cfg.max_epochs=1',
        'model.rgb_backbone.init_cfg.type=Pretrained',
        f'model.rgb_backbone.init_cfg.checkpoint={checkpoint}'
    ]

    def train(work: str, *extra: str, check: bool = True):
        return run_tool([
            'tools/train.py', deterministic_config, '--work-dir',
            tmp_path / work, '--no-validate', '--cfg-options', *options, *extra
        ],
                        check=check)

    proc = train('no_prefix', check=False)
    assert proc.returncode != 0
    assert str(checkpoint) in proc.stderr
    assert "add prefix='branches.rgb.'" in proc.stderr
    assert not list((tmp_path / 'no_prefix').rglob('*.pth'))

    train('prefix', 'model.rgb_backbone.init_cfg.prefix=branches.rgb.')
    trained = load_checkpoint(tmp_path / 'prefix' / 'epoch_1.pth')
    loaded = {
        k: v
        for k, v in source.items()
        if k.startswith('branches.rgb.') and 'num_batches_tracked' not in k
    }
    assert loaded
    for key, value in loaded.items():
        assert torch.equal(trained['state_dict'][key], value), key
