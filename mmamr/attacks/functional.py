# Copyright (c) mmamr contributors. All rights reserved.
"""One-call attacks for use outside configs and mmengine.

``adv = pgd(model, inputs, labels, eps=dict(rgb=8/255), targets='rgb')``
works on any callable mapping an inputs dict to logits ``[N, K]``. The
keyword arguments are those of the classes, plus ``target_labels`` and
``generator`` of :meth:`Attack.__call__`.
"""
from typing import Callable, Dict, Optional, Type

import torch

from .apgd import APGD, APGDT
from .autoattack import AutoAttack
from .base import Attack, Generators
from .cw import CW
from .fgsm import FGSM
from .pgd import PGD
from .square import Square

Inputs = Dict[str, torch.Tensor]


def _one_call(attack: Type[Attack]) -> Callable[..., Inputs]:
    """The function form of ``attack``: build it from the keyword
    arguments, then call it once."""

    def call(model: Callable,
             inputs: Inputs,
             labels: torch.Tensor,
             target_labels: Optional[torch.Tensor] = None,
             generator: Optional[Generators] = None,
             **kwargs) -> Inputs:
        return attack(**kwargs)(model, inputs, labels, target_labels,
                                generator)

    call.__name__ = call.__qualname__ = attack.__name__.lower()
    call.__doc__ = (f':class:`{attack.__name__}` ``(**kwargs)(model, '
                    'inputs, labels, target_labels, generator)``.')
    return call


fgsm = _one_call(FGSM)
pgd = _one_call(PGD)
cw = _one_call(CW)
apgd = _one_call(APGD)
apgdt = _one_call(APGDT)
square = _one_call(Square)
autoattack = _one_call(AutoAttack)
