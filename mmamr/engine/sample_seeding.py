# Copyright (c) mmamr contributors. All rights reserved.
"""Random starts that depend on the sample, not on the batch it is in.

A PGD random start drawn from one generator per batch depends on which
samples share the batch and in which order, and ``dist_test.sh`` with 2
processes batches other samples together than 1 process does. So every
sample gets its own ``torch.Generator``, seeded from the evaluation seed
and the sample's identity (its ``frame_dir``, e.g. the NTU name
``S001C001P001R001A001``, else its dataset ``sample_idx``), and the
attack draws each sample's start from that sample's generator (the
``generator`` of :meth:`mmamr.attacks.Attack.__call__` takes one per
sample): the same sample gets the same start in any batch, on any rank,
on any device (the generators live on the CPU), and in a run on a subset
of the data.
"""
import hashlib
from typing import List, Sequence

import torch

# Metainfo keys that identify a sample, in order of preference.
KEY_FIELDS = ('frame_dir', 'sample_idx')


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
    raise KeyError('Per-sample attack seeding needs each data sample to carry '
                   f'one of the metainfo keys {KEY_FIELDS}; this one has '
                   f'{sorted(meta)}. Add "sample_idx" to the meta_keys of the '
                   'pipeline\'s packing transform (PackRGBSkeletonInputs).')


def sample_seed(seed: int, key: str) -> int:
    """A 63-bit seed from the evaluation seed and a sample key (SHA-256,
    so that it is the same in every process and Python session)."""
    digest = hashlib.sha256(f'{int(seed)}:{key}'.encode()).digest()
    return int.from_bytes(digest[:8], 'little') >> 1


def sample_generators(seed: int, keys: Sequence[str]) -> List[torch.Generator]:
    """Fresh CPU generators, one per sample key, in the order of ``keys``:
    the ``generator`` of an attack on those samples."""
    return [
        torch.Generator().manual_seed(sample_seed(seed, key)) for key in keys
    ]
