# Copyright (c) mmamr contributors. All rights reserved.
"""Stage interface for mmaction2's ResNet3d-family backbones."""
from collections import OrderedDict
from typing import Dict, Optional

import torch
from mmaction.registry import MODELS

from .pretrained_checkpoint import PretrainedCheckpointMixin
from .staged_backbone import StagedBackbone


@MODELS.register_module()
class StagedResNet3d(PretrainedCheckpointMixin, StagedBackbone):
    """Expose any mmaction2 ``ResNet3d``-family backbone stage by stage.

    Builds the backbone from its usual config (``ResNet3d``, e.g. the
    inflated ResNet-50 of mmaction2's ``_base_/models/i3d_r50.py``,
    ``ResNet3dSlowOnly``, ...) and splits its own forward pass, so that the
    stages compose to exactly ``backbone(x)``:

    - stem: ``conv1``, then ``maxpool`` if ``with_pool1``;
    - stage ``i``: ``layer{i + 1}`` (and ``pool2`` after the first one if
      ``with_pool2``), ``[N, C_i, T_i, H_i, W_i]``;
    - head: global average pooling ``-> [N, feat_dim]``.

    The wrapped module is ``self.backbone``, so its checkpoint keys gain a
    ``backbone.`` prefix, as in mmaction2's recognizers. ``init_weights``
    calls the wrapped backbone's own ``init_weights`` (its initialisation
    scheme, or its ``pretrained`` checkpoint), then loads any
    ``Pretrained`` entry of this wrapper's ``init_cfg``: an mmaction2
    recognizer checkpoint (e.g. the Kinetics-400 I3D-R50 of its model
    zoo, for a backbone with the same settings, see
    ``configs/_base_/models/i3d_r50_branch.py``) or a bare backbone state
    dict loads every tensor but the classifier ``cls_head.*``, or fails
    naming what does not fit (:class:`PretrainedCheckpointMixin`).

    Args:
        backbone (dict): Config of the wrapped backbone. It must return the
            last stage's map, i.e. keep ``out_indices`` at the last stage.
        init_cfg (dict, optional): Initialization config of this wrapper.
            ``Pretrained`` is loaded after the wrapped backbone
            initialised itself; other entries before. Defaults to None.

    Example:
        >>> rgb_backbone = dict(
        ...     type='StagedResNet3d',
        ...     backbone=dict(type='ResNet3dSlowOnly', depth=50))
    """

    # mmaction2 recognizers' classifier (I3DHead's fc_cls, ...).
    checkpoint_classifier = ('cls_head.', )

    def __init__(self,
                 backbone: Dict,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        for name in ('conv1', 'res_layers', 'with_pool1', 'with_pool2'):
            if not hasattr(self.backbone, name):
                raise TypeError(
                    f'StagedResNet3d wraps ResNet3d-family backbones; '
                    f'{type(self.backbone).__name__} has no `{name}`.')
        self.num_stages = len(self.backbone.res_layers)
        self.feat_dim = self.backbone.feat_dim

    def map_checkpoint(
            self,
            state: 'OrderedDict[str, object]') -> 'OrderedDict[str, object]':
        """Keys under ``backbone.`` (mmaction2 recognizers, this wrapper)
        as they are; a bare ResNet3d state dict gains the prefix."""
        if any(k.startswith('backbone.') for k in state):
            return state
        return OrderedDict((f'backbone.{k}', v) for k, v in state.items())

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W]`` -> the input of ``layer1``."""
        x = self.backbone.conv1(x)
        if self.backbone.with_pool1:
            x = self.backbone.maxpool(x)
        return x

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run ``layer{index + 1}`` (and pool2 after the first layer)."""
        x = getattr(self.backbone, self.backbone.res_layers[index])(x)
        if index == 0 and self.backbone.with_pool2:
            x = self.backbone.pool2(x)
        return x

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling ``[N, C, T, H, W] -> [N, C]``."""
        return x.mean(dim=(2, 3, 4))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling ``-> [N, feat_dim]``."""
        return self.pool_stage(x)
