# Copyright (c) mmamr contributors. All rights reserved.
"""Random starts that depend on the sample, not on the batch it is in.

A PGD random start drawn from one generator per batch depends on which
samples share the batch and in which order, and ``dist_test.sh`` with 2
processes batches other samples together than 1 process does. So every
sample gets its own ``torch.Generator``, seeded from the evaluation seed
and the sample's identity (its ``frame_dir``, e.g. the NTU name
``S001C001P001R001A001``, else its dataset ``sample_idx``): the same
sample gets the same start in any batch, on any rank, on any device (the
generators live on the CPU), and in a run on a subset of the data.
"""
import hashlib
from typing import Callable, Dict, List, Sequence

import torch

Inputs = Dict[str, torch.Tensor]

# Metainfo keys that identify a sample, in order of preference.
KEY_FIELDS = ('frame_dir', 'sample_idx')


class SampleGenerators(list):
    """One CPU ``torch.Generator`` per sample of a batch, in batch order.

    Passed as the ``generator`` of an attack whose random start was made
    per-sample by :func:`draw_starts_per_sample`.
    """


def sample_key(data_sample) -> str:
    """The identity of a sample: its ``frame_dir`` or ``sample_idx``.

    Args:
        data_sample (ActionDataSample): A sample with metainfo.

    Returns:
        str: e.g. ``'frame_dir=S001C001P001R001A001'``.
    """
    meta = data_sample.metainfo
    for field in KEY_FIELDS:
        if meta.get(field) is not None:
            return f'{field}={meta[field]}'
    raise KeyError(
        'Per-sample attack seeding needs each data sample to carry '
        f'one of the metainfo keys {KEY_FIELDS}; this one has '
        f'{sorted(meta)}. Add "sample_idx" to the meta_keys of the '
        'pipeline\'s packing transform (PackRGBSkeletonInputs).')


def sample_seed(seed: int, key: str) -> int:
    """A 63-bit seed from the evaluation seed and a sample key (SHA-256,
    so that it is the same in every process and Python session)."""
    digest = hashlib.sha256(f'{int(seed)}:{key}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') >> 1


def sample_generators(seed: int, keys: Sequence[str]) -> SampleGenerators:
    """Fresh CPU generators, one per sample key."""
    return SampleGenerators(
        torch.Generator().manual_seed(sample_seed(seed, key)) for key in keys)


def draw_starts_per_sample(attack: object) -> bool:
    """Let ``attack`` draw each sample's random start from its own
    generator.

    mmamr's attacks (:class:`PGD` and its subclasses) draw their start in
    ``init_point(clean, generator)``; this wraps that method on the
    instance so that a :class:`SampleGenerators` passed as ``generator``
    draws sample ``i``'s start with the original method from generator
    ``i``. Any other ``generator`` goes to the original unchanged.

    Args:
        attack (object): An attack instance.

    Returns:
        bool: False if the attack has no ``init_point`` (then its
        randomness, if any, cannot be made per-sample).
    """
    original = getattr(attack, 'init_point', None)
    if original is None:
        return False
    if getattr(original, 'draws_per_sample', False):
        return True

    def init_point(clean: Inputs, generator: object) -> Inputs:
        if not isinstance(generator, SampleGenerators):
            return original(clean, generator)
        return per_sample(original, clean, generator)

    init_point.draws_per_sample = True
    attack.init_point = init_point
    return True


def per_sample(draw: Callable, clean: Inputs,
               generators: SampleGenerators) -> Inputs:
    """``draw(clean_i, generator_i)`` for each sample ``i``, concatenated.

    Args:
        draw (callable): ``(inputs dict, generator) -> inputs dict``.
        clean (dict): Modality -> ``[N, ...]``.
        generators (SampleGenerators): ``N`` generators.

    Returns:
        dict: Modality -> ``[N, ...]``.
    """
    num = {x.shape[0] for x in clean.values()}
    if num != {len(generators)}:
        raise ValueError(f'{len(generators)} generators for a batch of '
                         f'{sorted(num)} samples.')
    parts: List[Inputs] = [
        draw({m: x[i:i + 1]
              for m, x in clean.items()}, gen)
        for i, gen in enumerate(generators)
    ]
    return {m: torch.cat([p[m] for p in parts]) for m in clean}
