# Copyright (c) mmamr contributors. All rights reserved.
"""MinSim, the audio-visual dissimilarity constraint of Tian & Xu (CVPR
2021), for RGB and skeleton features."""
from typing import Dict

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch import nn

from mmamr.common import MODALITIES


@MODELS.register_module()
class MinSimLoss(nn.Module):
    """``w · mean_b cos(f_R^b, f_S^b)`` of the two branch features.

    The loss Tian & Xu add to the cross entropy ("MinSim"; their public
    code: ``CE + F.cosine_similarity(feat_v, feat_a, 1).mean()``): it
    pushes the two modalities' features of a sample apart, so that a
    perturbation of one modality moves less of the fused representation.
    It acts on the features the fusion head receives (after any
    ``feature_defence`` of the recognizer).

    Features of unequal width (I3D's 1024 against HCN's 256) have no
    cosine as such. The reference pairs coordinates by index (both of its
    features are 512-wide); we keep that pairing and zero-pad the
    narrower feature, i.e. the cosine of both features placed in one
    space of the larger width: ``<f_R[:d], f_S[:d]> / (|f_R| |f_S|)``
    with ``d = min(D_R, D_S)``, every coordinate counting in the norms.
    The fusion head is a linear layer on the concatenation, so the
    pairing of coordinates is arbitrary either way; a learnt projection
    would let the loss be met by the projection alone.

    Args:
        loss_weight (float): ``w``. Defaults to 1 (the reference's).
        eps (float): Norm floor of the cosine (``F.cosine_similarity``'s).
            Defaults to 1e-8.

    Example:
        >>> loss = MinSimLoss()
        >>> f = torch.rand(4, 8)
        >>> round(float(loss(dict(rgb=f, skeleton=f))), 4)  # cos = 1
        1.0
    """

    def __init__(self, loss_weight: float = 1.0, eps: float = 1e-8) -> None:
        super().__init__()
        if isinstance(
                loss_weight,
                bool) or not isinstance(loss_weight,
                                        (int, float)) or not loss_weight >= 0:
            raise ValueError(f'MinSimLoss.loss_weight={loss_weight!r} must '
                             'be a number >= 0.')
        self.loss_weight = float(loss_weight)
        self.eps = eps

    def forward(self, feats: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted mean cosine.

        Args:
            feats (dict): ``rgb`` ``[B, D_R]`` and ``skeleton``
                ``[B, D_S]``, the branch features of the same ``B``
                clips (views folded into ``B``).

        Returns:
            torch.Tensor: A scalar.
        """
        missing = [m for m in MODALITIES if m not in feats]
        if missing:
            raise KeyError(f'MinSimLoss needs rgb and skeleton features; '
                           f'{missing} missing (got {sorted(feats)}).')
        rgb, skeleton = feats['rgb'], feats['skeleton']
        if rgb.dim() != 2 or skeleton.dim() != 2 or (rgb.shape[0]
                                                     != skeleton.shape[0]):
            raise ValueError(
                'MinSimLoss expects features [B, D] of the same B clips; '
                f'got rgb {tuple(rgb.shape)}, skeleton '
                f'{tuple(skeleton.shape)}.')
        width = max(rgb.shape[1], skeleton.shape[1])
        rgb = F.pad(rgb, (0, width - rgb.shape[1]))
        skeleton = F.pad(skeleton, (0, width - skeleton.shape[1]))
        cos = F.cosine_similarity(rgb, skeleton, dim=1, eps=self.eps)
        return self.loss_weight * cos.mean()

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
