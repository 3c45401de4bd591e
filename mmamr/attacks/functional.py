# Copyright (c) mmamr contributors. All rights reserved.
"""One-call attacks for use outside configs and mmengine.

``adv = pgd(model, inputs, labels, eps=dict(rgb=8/255), targets='rgb')``
works on any callable mapping an inputs dict to logits ``[N, K]``. The
keyword arguments are those of the classes, plus ``target_labels`` and
``generator`` of :meth:`Attack.__call__`.
"""
from typing import Callable, Dict, Optional

import torch

from .base import Generators
from .cw import CW
from .fgsm import FGSM
from .pgd import PGD

Inputs = Dict[str, torch.Tensor]


def fgsm(model: Callable,
         inputs: Inputs,
         labels: torch.Tensor,
         target_labels: Optional[torch.Tensor] = None,
         **kwargs) -> Inputs:
    """:class:`FGSM` ``(**kwargs)(model, inputs, labels, target_labels)``.
    """
    return FGSM(**kwargs)(model, inputs, labels, target_labels)


def pgd(model: Callable,
        inputs: Inputs,
        labels: torch.Tensor,
        target_labels: Optional[torch.Tensor] = None,
        generator: Optional[Generators] = None,
        **kwargs) -> Inputs:
    """:class:`PGD` ``(**kwargs)(model, inputs, labels, target_labels,
    generator)``."""
    return PGD(**kwargs)(model, inputs, labels, target_labels, generator)


def cw(model: Callable,
       inputs: Inputs,
       labels: torch.Tensor,
       target_labels: Optional[torch.Tensor] = None,
       generator: Optional[Generators] = None,
       **kwargs) -> Inputs:
    """:class:`CW` ``(**kwargs)(model, inputs, labels, target_labels,
    generator)``."""
    return CW(**kwargs)(model, inputs, labels, target_labels, generator)
