# Copyright (c) mmamr contributors. All rights reserved.
"""Per-sample objectives that attacks *ascend*.

Each returns one value per sample (``[N]``); attacks differentiate the
sum, so a sample's gradient depends on its own logits only, and the
scale does not matter under the sign of L∞ steps.
"""
import torch
import torch.nn.functional as F


def ce_objective(logits: torch.Tensor,
                 labels: torch.Tensor,
                 targeted: bool = False) -> torch.Tensor:
    """Cross-entropy to ascend (PGD, FGSM).

    Args:
        logits (torch.Tensor): ``[N, K]``.
        labels (torch.Tensor): ``[N]``: the true labels (untargeted) or
            the target labels (targeted).
        targeted (bool): Descend the cross-entropy towards ``labels``
            instead of ascending it away from them.

    Returns:
        torch.Tensor: ``[N]``.
    """
    loss = F.cross_entropy(logits, labels, reduction='none')
    return -loss if targeted else loss


def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max_{j≠y} z_j − z_y`` per sample: positive iff misclassified.

    The runner-up is taken by masking the label's logit with ``-inf``,
    not by multiplying with a one-hot mask, which breaks for negative
    logits (the sign bug of torchattacks' CW).

    Args:
        logits (torch.Tensor): ``[N, K]``, ``K >= 2``.
        labels (torch.Tensor): ``[N]``.

    Returns:
        torch.Tensor: ``[N]``.
    """
    if logits.shape[1] < 2:
        raise ValueError('A margin needs at least 2 classes; the logits '
                         f'have shape {tuple(logits.shape)}.')
    own = logits.gather(1, labels[:, None]).squeeze(1)
    is_own = F.one_hot(labels, logits.shape[1]).bool()
    other = logits.masked_fill(is_own, float('-inf')).amax(dim=1)
    return other - own


def cw_objective(logits: torch.Tensor,
                 labels: torch.Tensor,
                 targeted: bool = False,
                 kappa: float = 50.) -> torch.Tensor:
    """The CW margin loss (Carlini & Wagner 2017, their f6) to ascend.

    Untargeted: ``min(max_{j≠y} z_j − z_y, κ)``; targeted towards ``t``:
    ``min(z_t − max_{j≠t} z_j, κ)``. Once a sample is misclassified (or
    classified as ``t``) with confidence ``κ`` its gradient is zero and
    the attack leaves it there.

    Args:
        logits (torch.Tensor): ``[N, K]``.
        labels (torch.Tensor): ``[N]``, true or target labels.
        targeted (bool): Targeted objective. Defaults to False.
        kappa (float): Confidence κ >= 0. Defaults to 50.

    Returns:
        torch.Tensor: ``[N]``.
    """
    value = margin(logits, labels)
    if targeted:
        value = -value
    return value.clamp(max=kappa)
