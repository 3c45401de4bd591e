# Copyright (c) mmamr contributors. All rights reserved.
"""A model built from a config file and loaded from a checkpoint."""
import functools

from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

from mmamr.engine.hooks.checkpoint_keys_hook import load_checked_checkpoint


@functools.lru_cache(maxsize=4)
def load_model(config: str, checkpoint: str) -> nn.Module:
    """Build ``config``'s model, load ``checkpoint`` into it (refusing a
    checkpoint that fits none of its weights) and put it in eval mode.

    Cached per (config, checkpoint): a transfer attack built once per
    target shares one model. Pass absolute paths.

    Args:
        config (str): A config file with a ``model`` field.
        checkpoint (str): A checkpoint of that model.

    Returns:
        nn.Module: The model, on the CPU.
    """
    cfg = Config.fromfile(config)
    if 'model' not in cfg:
        raise KeyError(f'{config} has no "model" to build.')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmaction')):
        model = MODELS.build(cfg.model)
    load_checked_checkpoint(model, checkpoint)
    return model.eval()
