# Copyright (c) mmamr contributors. All rights reserved.
"""The model inside data-parallel wrappers."""
from mmengine.model import is_model_wrapper
from torch import nn


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside every wrapper mmengine knows (torch's
    DataParallel and DistributedDataParallel, mmengine's own).

    Attacks and hooks work on the bare model: an attack needs no
    parameter gradients, and a DDP forward whose parameters then get none
    would leave DDP waiting for a reduction.
    """
    while is_model_wrapper(model):
        model = model.module
    return model
