# Copyright (c) mmamr contributors. All rights reserved.
import logging

from mmengine.logging import MMLogger
from torch import nn


def init_weights_quietly(model: nn.Module) -> None:
    """``model.init_weights()`` without its INFO record per parameter.

    mmengine logs every parameter's init at INFO level, which buries the
    output of benchmarks and tests; the level is raised for the call only.
    """
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
