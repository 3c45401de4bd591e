# Copyright (c) mmamr contributors. All rights reserved.
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
        **kwargs: Passed to :class:`BaseHead` (``loss_cls``,
            ``average_clips``, ``topk``, ...).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, **kwargs)
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
