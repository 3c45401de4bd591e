# Copyright (c) mmamr contributors. All rights reserved.
"""The threat model: which modalities an attack may change, and how much.

Budgets are L∞ radii in the units of DESIGN.md D5: RGB in [0, 1]
intensity (8/255 = eight grey levels) and the skeleton in
``NormalizeSkeleton`` units (about [0, 1] per axis). RGB is clamped to
[0, 1], the range of any image. The skeleton is not clamped: its
[0, 1] range maps a fixed ±1.5 m box around the spine-mid joint, a
convention of the pipeline, not a physical bound (limbs can leave the
box, absent persons are exactly 0), so a perturbed joint just outside it
is still a valid skeleton. Padding is not input (D7): the projection
keeps the clean skeleton's absent bodies and frames exactly zero
(:mod:`mmamr.attacks.padding`).
"""
from numbers import Real
from typing import Dict, Mapping, Tuple

import torch

from mmamr.common import MODALITIES
from .padding import keep_padding, padding_changed

# Modalities with a hard physical range, clamped after every step.
BOUNDS = dict(rgb=(0., 1.))


def check_budget(name: str, budget: Mapping[str, float],
                 modalities: Tuple[str, ...]) -> Dict[str, float]:
    """Validate a per-modality budget dict such as ``eps`` or ``alpha``.

    Args:
        name (str): The argument's name, for the error messages.
        budget (Mapping[str, float]): Modality -> non-negative radius.
        modalities (tuple[str]): The attacked modalities; each must have
            a value. Keys of other known modalities are allowed (one
            config can serve ✗R, ✗S and ✗RS).

    Returns:
        dict: ``modality -> float`` for the attacked modalities.
    """
    if not isinstance(budget, Mapping):
        raise TypeError(f'{name} must be a dict keyed by modality, e.g. '
                        f'{name}=dict(rgb=8/255, skeleton=8/255); got '
                        f'{budget!r}.')
    unknown = sorted(set(budget) - set(MODALITIES))
    if unknown:
        raise ValueError(f'{name} names unknown modalities {unknown}; '
                         f'known: {list(MODALITIES)}.')
    missing = [m for m in modalities if m not in budget]
    if missing:
        raise ValueError(f'{name}={dict(budget)} has no value for the '
                         f'attacked modalities {missing}.')
    out = dict()
    for modality in modalities:
        value = budget[modality]
        if (not isinstance(value, Real) or isinstance(value, bool)
                or not value >= 0 or value == float('inf')):
            raise ValueError(f'{name}[{modality!r}]={value!r} must be a '
                             'finite number >= 0.')
        out[modality] = float(value)
    return out


def project(adv: torch.Tensor, clean: torch.Tensor, eps: float,
            modality: str) -> torch.Tensor:
    """Project ``adv`` onto the L∞ ball of radius ``eps`` around ``clean``,
    onto the modality's valid range (RGB: [0, 1]) and onto the clean
    input's padding (skeleton: absent bodies and frames stay exactly
    zero, :mod:`mmamr.attacks.padding`)."""
    adv = clean + (adv - clean).clamp(-eps, eps)
    if modality in BOUNDS:
        adv = adv.clamp(*BOUNDS[modality])
    return keep_padding(adv, clean, modality)


def check_inside(adv: Dict[str, torch.Tensor], clean: Dict[str, torch.Tensor],
                 eps: Dict[str, float]) -> None:
    """Raise if a perturbation left its budget or its valid range.

    AutoAttack's hygiene: the projection should make this impossible, so
    a failure is a bug, reported instead of silently evaluated. The
    tolerance is a few float ulps of the inputs' magnitude, the rounding
    of ``clean + clamp(adv - clean)``.
    """
    for modality, x in adv.items():
        x0 = clean[modality]
        if x.shape != x0.shape or x.dtype != x0.dtype:
            raise RuntimeError(f'The adversarial {modality} input has shape '
                               f'{tuple(x.shape)} {x.dtype}; the clean one '
                               f'{tuple(x0.shape)} {x0.dtype}.')
        if x.numel() == 0:
            continue
        if not torch.isfinite(x).all():
            raise RuntimeError(f'The adversarial {modality} input is not '
                               'finite (NaN or inf gradients?).')
        scale = max(1., float(x0.abs().max()))
        tol = 4 * torch.finfo(x.dtype).eps * scale
        dist = float((x - x0).abs().max())
        if dist > eps[modality] + tol:
            raise RuntimeError(f'The {modality} perturbation has L∞ norm '
                               f'{dist}, over its budget {eps[modality]}.')
        if modality in BOUNDS:
            low, high = BOUNDS[modality]
            if x.min() < low or x.max() > high:
                raise RuntimeError(f'The adversarial {modality} input left '
                                   f'[{low}, {high}].')
        if padding_changed(x, x0, modality):
            raise RuntimeError(f'The adversarial {modality} input differs '
                               'from the clean one in its padding (absent '
                               'bodies or frames: DESIGN.md D7).')
