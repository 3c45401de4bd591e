# Copyright (c) mmamr contributors. All rights reserved.
"""A collate function that makes a batch cheap to hand over from a worker.
"""
from typing import Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS


# The runner looks ``collate_fn`` up in mmengine's root FUNCTIONS registry
# (not in mmaction2's child), so it is registered there.
@FUNCTIONS.register_module()
def rgb_skeleton_collate(data_batch: Sequence[dict]) -> dict:
    """``pseudo_collate``, with each modality's inputs stacked and the
    samples' labels made views of one tensor.

    Every tensor a dataloader worker returns reaches the main process as a
    shared-memory handle of its own storage, received with a round trip to
    the worker; on a busy CPU that hand-over, which the main process pays
    between training steps, cost more than loading itself (synthetic
    config, batch 16: a median 12-18 ms for the 48 tensors that
    ``pseudo_collate`` leaves). Here a batch has three storages: one per
    modality (``inputs[m]`` ``[B, ...]``; mmaction2's data preprocessor
    takes it through :func:`mmamr.compat.preprocess_stacked_action_inputs`)
    and one behind every ``gt_label``, which pickle then sends once. That
    hand-over took 2-3 ms.

    Inputs of a modality whose shapes differ across the batch stay a list,
    as ``pseudo_collate`` leaves them.

    Args:
        data_batch (Sequence[dict]): Samples as ``PackRGBSkeletonInputs``
            packs them: ``inputs`` (modality -> tensor) and
            ``data_samples`` (``ActionDataSample``).

    Returns:
        dict: ``inputs`` (modality -> ``[B, ...]`` tensor, or a list) and
        ``data_samples`` (a list).
    """
    batch = pseudo_collate(data_batch)
    inputs = batch['inputs']
    if isinstance(inputs, dict):
        for modality, tensors in inputs.items():
            if len({t.shape for t in tensors}) == 1:
                inputs[modality] = torch.stack(tensors)
    samples = batch['data_samples']
    labels = [s.gt_label for s in samples if 'gt_label' in s]
    if labels and len(labels) == len(samples) and len(
            {label.shape for label in labels}) == 1:
        for sample, label in zip(samples, torch.stack(labels)):
            sample.set_gt_label(label)
    return batch
