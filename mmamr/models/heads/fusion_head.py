# Copyright (c) mmamr contributors. All rights reserved.
from typing import Optional

import torch
from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from mmengine.model.weight_init import normal_init
from torch import nn


@MODELS.register_module()
class FusionHead(BaseHead):
    """Late-fusion classifier: dropout and one FC over concatenated features.

    The recognizer concatenates the pooled features of its branches (RGB
    first, then skeleton) and passes them here, so the head itself is a
    plain linear classifier; it inherits loss, top-k logging and clip
    averaging from :class:`mmaction.models.heads.BaseHead`.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Width of the concatenated features. The
            recognizer fills it in from its backbones when omitted.
        dropout_ratio (float): Dropout before the FC. Defaults to 0.5.
        init_std (float): Std of the FC's normal init. Defaults to 0.01.
        average_clips (str, optional): How scores of several views of a
            sample are averaged at test time: ``'prob'`` (softmax, the
            default), ``'score'`` or None (no averaging).
        **kwargs: Passed to :class:`BaseHead` (``loss_cls``, ``topk``,
            ``label_smooth_eps``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 average_clips: Optional[str] = 'prob',
                 **kwargs) -> None:
        super().__init__(
            num_classes,
            in_channels,
            average_clips=average_clips,
            **kwargs)
        self.init_std = init_std
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Initialise the classifier like mmaction2's I3D head."""
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Classify fused features.

        Args:
            x (torch.Tensor): Fused features ``[N, in_channels]``.

        Returns:
            torch.Tensor: Class scores ``[N, num_classes]``.
        """
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x)
