# Copyright (c) mmamr contributors. All rights reserved.
"""Padding is not input (DESIGN.md D7): the positions no attack changes.

A skeleton tensor ``[N, (V,) M, T, J, C]`` holds ``M`` body slots for
``T`` frames. A slot with no body in it (an absent second person, a
frame without any body, a frame added to reach the clip length) is
stored as exactly zero on every joint and coordinate: the converters
write zeros for it, :class:`FormatSkeletonInput` pads missing bodies
with zeros, and :class:`NormalizeSkeleton` keeps padding exactly zero
while it maps every real joint to its fixed units. A real body is never
all zero in one frame (that would put every joint on the corner of the
normalisation box, or, for 2-D keypoints, be a detection with no
detected joint). So the clean input itself is the validity mask, and no
mask needs to travel beside the data through collate, the data
preprocessor and the loops: every attack, in training and evaluation,
and any user of the functional API, gets the same rule.

The rule acts on the last two axes: a ``[J, C]`` slice (one body in one
frame) that is entirely zero in the clean input is padding. For a pose
heatmap volume ``[N, K, T, H, W]`` used as the skeleton input it reads:
an ``[H, W]`` map (one joint in one frame) that is entirely zero, i.e. a
joint no person has in that frame, is padding.

A single zero joint of a present body is *not* padding here: a missing
2-D detection (OpenPose's ``0, 0, 0``) is perturbed like any other
coordinate, because a zero joint is ambiguous in pipelines other than
ours (mmaction2's ``PreNormalize3D`` puts the centre joint at exactly 0).

:func:`padding_as_input` switches the rule off, for one purpose: to
measure what it changes (``Attack(perturb_padding=True)``,
``tools/test.py --perturb-padding``). Numbers measured so are those of
the threat model this project rejects, never robust accuracies to report.
"""
from contextlib import contextmanager
from typing import Iterator

import torch

# Modalities whose inputs carry zero padding.
PADDED_MODALITIES = ('skeleton', )
# Depth of padding_as_input() contexts entered (the rule is off while > 0).
_padding_as_input = 0


@contextmanager
def padding_as_input() -> Iterator[None]:
    """Inside, the attacks may perturb padding like any other coordinate
    (the threat model before DESIGN.md D7): :func:`keep_padding` restores
    nothing and :func:`padding_changed` reports nothing. For measuring what
    D7 changes only. Not thread-safe: it switches the rule for the process.
    """
    global _padding_as_input
    _padding_as_input += 1
    try:
        yield
    finally:
        _padding_as_input -= 1


def padded(modality: str) -> bool:
    """Whether ``modality``'s padding is protected now."""
    return modality in PADDED_MODALITIES and _padding_as_input == 0


def padding_mask(clean: torch.Tensor) -> torch.Tensor:
    """Where the clean input is padding.

    Args:
        clean (torch.Tensor): A clean skeleton ``[N, ..., J, C]`` (at least
            3-D: the batch and the two axes of one body-frame).

    Returns:
        torch.Tensor: bool ``[N, ..., 1, 1]``, True for the body-frames
        whose joints are all exactly zero; broadcastable to ``clean``.
        For inputs under 3-D, all False (no body-frame structure).
    """
    if clean.dim() < 3:
        return torch.zeros(
            (1, ) * clean.dim(), dtype=torch.bool, device=clean.device)
    return (clean == 0).flatten(-2).all(-1)[..., None, None]


def keep_padding(adv: torch.Tensor, clean: torch.Tensor,
                 modality: str) -> torch.Tensor:
    """``adv`` with the padding of ``clean`` restored exactly.

    Args:
        adv (torch.Tensor): A perturbed input, shaped like ``clean``.
        clean (torch.Tensor): The clean input.
        modality (str): The input's modality; only those in
            :data:`PADDED_MODALITIES` have padding.

    Returns:
        torch.Tensor: ``adv`` where ``clean`` is not padding, ``clean``
        (exact zeros) where it is; ``adv`` inside
        :func:`padding_as_input`.
    """
    if not padded(modality):
        return adv
    return torch.where(padding_mask(clean), clean, adv)


def padding_changed(adv: torch.Tensor, clean: torch.Tensor,
                    modality: str) -> bool:
    """Whether ``adv`` differs from ``clean`` anywhere in its padding."""
    if not padded(modality):
        return False
    pad = padding_mask(clean).expand_as(clean)
    return not torch.equal(adv[pad], clean[pad])
