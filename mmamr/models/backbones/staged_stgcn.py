# Copyright (c) mmamr contributors. All rights reserved.
"""Stage interface for mmaction2's ST-GCN skeleton backbone."""
from typing import Dict, List, Optional

import torch
from mmaction.registry import MODELS

from .staged_backbone import StagedBackbone


@MODELS.register_module()
class StagedSTGCN(StagedBackbone):
    """Expose mmaction2's ``STGCN`` (also ST-GCN++) stage by stage.

    Builds the backbone from its usual config and splits its forward pass
    so that the stages compose to exactly ``backbone(x)`` followed by
    mmaction2's ``GCNHead`` pooling:

    - stem: the input BatchNorm (``data_bn``), persons folded into the
      batch: ``[N, M, T, V, C] -> [N * M, C, T, V]``;
    - stages: the GCN blocks, grouped like ResNet layers: a new stage
      starts at each block that down-samples time (``down_stages``). The
      default 10 blocks give 3 stages, ``[N * M, 64, T, V]``,
      ``[N * M, 128, T/2, V]`` and ``[N * M, 256, T/4, V]`` (for
      ``base_channels=64``), each a per-person 4-D map like HCN's;
    - head: average over time and joints, then over persons (as
      ``GCNHead``) ``-> [N, feat_dim]``.

    The wrapped module is ``self.backbone`` (checkpoint keys gain a
    ``backbone.`` prefix).

    Args:
        backbone (dict): Config of the wrapped ``STGCN``, e.g.
            ``dict(type='STGCN', graph_cfg=dict(layout='nturgb+d',
            mode='stgcn_spatial'))``. Its ``num_person`` (default 2) is
            the number of persons every input must have.
        init_cfg (dict, optional): Initialization config of this wrapper.
            Defaults to None.
    """

    def __init__(self,
                 backbone: Dict,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        for name in ('data_bn', 'gcn', 'down_stages', 'data_bn_type'):
            if not hasattr(self.backbone, name):
                raise TypeError(
                    f'StagedSTGCN wraps STGCN backbones; '
                    f'{type(self.backbone).__name__} has no `{name}`.')
        self.num_person = int(backbone.get('num_person', 2))
        self.stage_blocks = self._group_blocks()
        self.num_stages = len(self.stage_blocks)
        self.feat_dim = self.backbone.gcn[-1].gcn.out_channels

    def _group_blocks(self) -> List[List[int]]:
        """Block indices of each stage, split before down-sampling blocks.

        STGCN numbers its blocks ``i = 1 .. num_stages`` and down-samples
        at ``i in down_stages``; block 1 (the input block) exists only
        when ``in_channels != base_channels``, so list index ``j`` is block
        ``j + 1`` or ``j + 2``.
        """
        net = self.backbone
        offset = 1 if net.in_channels != net.base_channels else 2
        stages: List[List[int]] = []
        for j in range(len(net.gcn)):
            if not stages or (j + offset) in net.down_stages:
                stages.append([])
            stages[-1].append(j)
        return stages

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise the input and fold persons into the batch.

        Args:
            x (torch.Tensor): Skeletons ``[N, M, T, V, C]``.

        Returns:
            torch.Tensor: ``[N * M, C, T, V]``, persons of a sample
            adjacent.
        """
        if x.dim() != 5 or x.shape[1] != self.num_person:
            raise ValueError(
                f'StagedSTGCN expects [N, M={self.num_person}, T, V, C], '
                f'got {tuple(x.shape)}.')
        # As STGCN.forward.
        n, m, t, v, c = x.shape
        x = x.permute(0, 1, 3, 4, 2).contiguous()
        if self.backbone.data_bn_type == 'MVC':
            x = self.backbone.data_bn(x.view(n, m * v * c, t))
        else:
            x = self.backbone.data_bn(x.view(n * m, v * c, t))
        return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).contiguous().view(
            n * m, c, t, v)

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run the GCN blocks of stage ``index``."""
        for block in self.stage_blocks[index]:
            x = self.backbone.gcn[block](x)
        return x

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Average over time, joints and persons (as ``GCNHead``).

        Args:
            x (torch.Tensor): A stage output ``[N * M, C, T, V]``.

        Returns:
            torch.Tensor: ``[N, C]``.
        """
        x = x.mean(dim=(2, 3))
        return x.view(-1, self.num_person, x.shape[1]).mean(dim=1)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Pool the last stage's output ``-> [N, feat_dim]``."""
        return self.pool_stage(x)
