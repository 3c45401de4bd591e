# Copyright (c) mmamr contributors. All rights reserved.
from typing import Mapping, Optional

from mmamr.common import MODALITIES
from mmamr.registry import ATTACKS
from .base import DEFAULT_EPS
from .pgd import PGD


@ATTACKS.register_module()
class FGSM(PGD):
    r"""Multimodal FGSM in the paper "Explaining and Harnessing Adversarial
    Examples" (Goodfellow et al., ICLR 2015): one step
    ``x' = clip(x + ε · sign(∇_x CE))`` on every attacked modality, from
    one forward/backward. Exactly :class:`PGD` with one step of size ε
    and no random start.

    Distance Measure: Linf, per modality.

    Arguments:
        eps (dict): Maximum perturbation per modality.
            (Default: ``dict(rgb=8/255, skeleton=8/255)``)
        targets (str): ``'rgb'``, ``'skeleton'`` or ``'both'``.
            (Default: ``'both'``)
        targeted (bool): Step towards ``target_labels``. (Default: False)
        model_mode (str): ``'eval'`` or ``'train'``. (Default: ``'eval'``)
        fast_path (bool): See :class:`Attack`. (Default: True)

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = FGSM(eps=dict(rgb=8/255, skeleton=8/255))
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Mapping[str, float]] = None,
                 **kwargs) -> None:
        if eps is None:
            eps = dict.fromkeys(MODALITIES, DEFAULT_EPS)
        super().__init__(
            eps=eps, alpha=eps, steps=1, random_start=False, **kwargs)
