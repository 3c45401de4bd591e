# Copyright (c) mmamr contributors. All rights reserved.
"""The model's logits as a function of the attacked modalities only."""
from typing import Callable, Dict, Sequence

import torch

Inputs = Dict[str, torch.Tensor]


def can_split(model: Callable, modalities: Sequence[str]) -> bool:
    """Whether the untouched branches can be run once, apart.

    True for a model with ``branch_features``/``fused_logits`` (such as
    :class:`RGBSkeletonRecognizer`) whose branches do not interact before
    fusion, when the attack leaves at least one of its branches alone.
    """
    needed = ('branch_features', 'fused_logits', 'modalities',
              'branches_interact')
    if not all(hasattr(model, name) for name in needed):
        return False
    return (not model.branches_interact
            and set(modalities) < set(model.modalities))


class AttackedForward:
    """``adv -> logits [N, K]`` for a dict holding the attacked modalities.

    Exact full path: ``model({**inputs, **adv})`` for any callable. Fast
    path (``can_split``): the other branches' features are computed once
    without grad, and each call runs only the attacked branches and
    ``fused_logits``; the result equals the full path because the
    branches do not interact before fusion. (In ``model_mode='train'``
    the untouched branch then runs once per attack, with one dropout mask
    and one BatchNorm statistics update, instead of once per step.)

    Args:
        model (callable): ``inputs dict -> logits [N, K]``.
        inputs (dict): The clean inputs (not modified).
        modalities (sequence[str]): The attacked modalities.
        num_samples (int): ``N``, to check the logits' shape.
        fast_path (bool): Allow the fast path. Defaults to True.
    """

    def __init__(self,
                 model: Callable,
                 inputs: Inputs,
                 modalities: Sequence[str],
                 num_samples: int,
                 fast_path: bool = True) -> None:
        self.model = model
        self.num_samples = num_samples
        self.inputs = {k: v.detach() for k, v in inputs.items()}
        self.fast = fast_path and can_split(model, modalities)
        if self.fast:
            others = [m for m in model.modalities if m not in modalities]
            with torch.no_grad():
                self.fixed, self.batch, self.views = model.branch_features(
                    self.inputs, others)

    def __call__(self, adv: Inputs) -> torch.Tensor:
        if self.fast:
            feats, _, _ = self.model.branch_features(adv, list(adv))
            logits = self.model.fused_logits({
                **self.fixed,
                **feats
            }, self.batch, self.views)
        else:
            logits = self.model({**self.inputs, **adv})
        # AutoAttack's hygiene: a model returning probabilities, features
        # or a data-sample list would make the loss meaningless.
        if (not torch.is_tensor(logits) or logits.dim() != 2
                or logits.shape[0] != self.num_samples):
            got = (tuple(logits.shape)
                   if torch.is_tensor(logits) else type(logits).__name__)
            raise ValueError('The attacked model must map an inputs dict to '
                             f'logits [N={self.num_samples}, K]; got {got}.')
        return logits
