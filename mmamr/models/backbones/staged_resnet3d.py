# Copyright (c) mmamr contributors. All rights reserved.
"""Stage interface for mmaction2's ResNet3d-family backbones."""
from typing import Dict, Optional

import torch
from mmaction.registry import MODELS

from .staged_backbone import StagedBackbone


@MODELS.register_module()
class StagedResNet3d(StagedBackbone):
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
    ``backbone.`` prefix. ``init_weights`` (inherited from ``BaseModule``)
    calls the wrapped backbone's own ``init_weights``, which applies its
    initialisation scheme or loads its ``pretrained`` checkpoint.

    Args:
        backbone (dict): Config of the wrapped backbone. It must return the
            last stage's map, i.e. keep ``out_indices`` at the last stage.
        init_cfg (dict, optional): Initialization config of this wrapper,
            applied before the wrapped backbone initialises itself.
            Defaults to None.

    Example:
        >>> rgb_backbone = dict(
        ...     type='StagedResNet3d',
        ...     backbone=dict(type='ResNet3dSlowOnly', depth=50))
    """

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
