# Copyright (c) mmamr contributors. All rights reserved.
"""Multimodal L∞ attacks (pure torch; registered in ``mmamr.ATTACKS``)."""
from mmamr.common import MODALITIES, TARGETS
from .attacked_forward import AttackedForward, can_split
from .base import Attack
from .cw import CW
from .fgsm import FGSM
from .functional import cw, fgsm, pgd
from .losses import ce_objective, cw_objective, margin
from .pgd import PGD

__all__ = [
    'Attack', 'FGSM', 'PGD', 'CW', 'fgsm', 'pgd', 'cw', 'AttackedForward',
    'can_split', 'ce_objective', 'cw_objective', 'margin', 'MODALITIES',
    'TARGETS'
]
