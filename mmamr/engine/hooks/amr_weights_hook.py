# Copyright (c) mmamr contributors. All rights reserved.
"""Log the mean AMR weights during training (the paper's Table 3)."""
from typing import Dict, Optional

import torch
from mmaction.registry import HOOKS
from mmengine.hooks import Hook

from mmamr.common import unwrap_model

DATA_BATCH = Optional[dict]


def amr_weight_means(model: torch.nn.Module) -> Dict[str, float]:
    """``{'amr{i}/w_{modality}': mean of W}`` for every AMR of ``model``.

    AMR ``i`` is the module between stages at depth ``i`` (1: after the
    deepest stage); a model without AMRs gives an empty dict.
    """
    model = unwrap_model(model)
    means = dict()
    for depth, module in getattr(model, 'between_stages', {}).items():
        weights = getattr(module, 'weights', None)
        if not isinstance(weights, torch.nn.ParameterDict):
            continue
        for modality, weight in weights.items():
            means[f'amr{depth}/w_{modality}'] = float(weight.detach().mean())
    return means


@HOOKS.register_module()
class AMRWeightsHook(Hook):
    """Log the mean of ``W_R`` and ``W_S`` of every AMR while training.

    Every ``interval`` iterations the means go to the MessageHub as
    ``train/amr{i}/w_rgb`` and ``train/amr{i}/w_skeleton``, so the logger
    prints them with the losses and the visualizer backends (TensorBoard,
    ...) plot them. ``tools/analysis/amr_weights.py`` gives the final
    per-AMR means and per-channel distributions from a checkpoint.

    Args:
        interval (int): Iterations between two records. Defaults to 1 (the
            logger then averages over its own window).
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL) prints

    def __init__(self, interval: int = 1) -> None:
        if isinstance(interval,
                      bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval={interval!r} must be an int >= 1.')
        self.interval = interval

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        for key, value in amr_weight_means(runner.model).items():
            runner.message_hub.update_scalar(f'train/{key}', value)
