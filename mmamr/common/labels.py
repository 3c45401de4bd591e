# Copyright (c) mmamr contributors. All rights reserved.
"""The ground-truth labels of a batch."""
from typing import Sequence

import torch


def gt_labels(data_samples: Sequence, device: torch.device) -> torch.Tensor:
    """The single-label ground truth of ``data_samples`` as a LongTensor.

    Args:
        data_samples (Sequence[ActionDataSample]): One per sample, each
            with a one-element integer ``gt_label``.
        device (torch.device): Where the labels go.

    Returns:
        torch.Tensor: Labels ``[N]`` (int64).
    """
    labels = []
    for sample in data_samples:
        label = sample.gt_label
        if label.numel() != 1 or label.is_floating_point():
            raise ValueError('Attacks and adversarial training need one '
                             'integer label per sample; got gt_label '
                             f'{label}.')
        labels.append(label.reshape(1))
    return torch.cat(labels).long().to(device)
