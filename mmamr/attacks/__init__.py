# Copyright (c) mmamr contributors. All rights reserved.
"""Multimodal L∞ attacks (pure torch; registered in ``mmamr.ATTACKS``):
FGSM, PGD, CW, APGD, APGD-T, Square, AutoAttack and transfer attacks."""
from mmamr.common import MODALITIES, TARGETS
from .apgd import APGD, APGDT, dlr_objective, dlr_targeted_objective
from .attacked_forward import AttackedForward, can_split
from .autoattack import AutoAttack, AutoAttackResult
from .base import Attack
from .cw import CW
from .fgsm import FGSM
from .functional import apgd, apgdt, autoattack, cw, fgsm, pgd, square
from .losses import ce_objective, cw_objective, margin
from .pgd import PGD
from .square import Square
from .transfer import Transfer

__all__ = [
    'Attack', 'FGSM', 'PGD', 'CW', 'APGD', 'APGDT', 'Square', 'AutoAttack',
    'AutoAttackResult', 'Transfer', 'fgsm', 'pgd', 'cw', 'apgd', 'apgdt',
    'square', 'autoattack', 'AttackedForward', 'can_split', 'ce_objective',
    'cw_objective', 'margin', 'dlr_objective', 'dlr_targeted_objective',
    'MODALITIES', 'TARGETS'
]
