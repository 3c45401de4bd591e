# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmaction.registry import MODELS
from torch import nn

from .pretrained_checkpoint import PretrainedCheckpointMixin
from .staged_backbone import StagedBackbone


def conv_bn_relu(in_channels: int, out_channels: int,
                 stride: Sequence[int]) -> nn.Sequential:
    """A 3x3x3 convolution (padding 1, no bias), BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv3d(
            in_channels,
            out_channels,
            kernel_size=3,
            stride=tuple(stride),
            padding=1,
            bias=False), nn.BatchNorm3d(out_channels), nn.ReLU(inplace=True))


@MODELS.register_module()
class StagedC3D(PretrainedCheckpointMixin, StagedBackbone):
    """A shallow plain 3-D CNN in the spirit of C3D (Tran et al., ICCV
    2015), for small clips trained from scratch on a CPU.

    The synthetic benchmark's RGB branch: the 1/8-width InceptionI3D stays
    near chance on its clips within the quickstart's budget, and so does
    mmaction2's ResNet3d-18 (docs/results.md), while a few plain
    convolutions learn them. mmaction2's own ``C3D`` is fixed to 16 x 112
    x 112 clips (its ``fc6`` reads a 4 x 4 map of 512 channels), hence
    this one. The NTU and iMiGUE configs keep InceptionI3D.

    Shapes for a ``[N, 3, T, H, W]`` clip and the default widths:

    - stem: one convolution ``-> [N, 16, T, H, W]``;
    - stage ``i``: one convolution of stride ``strides[i]`` followed by
      ``convs_per_stage - 1`` of stride 1 ``-> [N, 16 * 2^(i+1), ...]``;
      with the default strides ``(1, 2, 2)`` per stage, stage 2 gives
      ``[N, 128, T, H/8, W/8]``;
    - head: global average pooling ``-> [N, feat_dim]``
      (``feat_dim`` = the last stage's width).

    Args:
        in_channels (int): Input channels. Defaults to 3.
        base_channels (int): Width of the stem; stage ``i`` has
            ``base_channels * 2^(i+1)``. Defaults to 16.
        num_stages (int): Stages (each can host an AMR after it).
            Defaults to 3.
        strides (sequence): Per stage, the ``(t, h, w)`` stride of its
            first convolution. Defaults to ``(1, 2, 2)`` for every stage.
        convs_per_stage (int): Convolutions per stage. Defaults to 1.
        dropout_ratio (float): Dropout after the head's pooling; 0
            disables it. Defaults to 0.
        head_pool (str): Pooling of the head, ``'avg'`` or ``'max'`` (a
            small object anywhere in the frame survives max pooling).
            :meth:`pool_stage` always averages. Defaults to ``'avg'``.
        norm_eval (bool): Keep BatchNorm layers in eval mode (running
            statistics frozen) during training, as mmaction2's ResNet3d
            can. Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config;
            ``None`` means Kaiming for convolutions and ones for BN. A
            ``Pretrained`` entry (with ``prefix='branches.rgb.'`` for the
            RGB branch of an mmamr checkpoint) must fill every weight
            (:class:`PretrainedCheckpointMixin`).
    """

    def __init__(self,
                 in_channels: int = 3,
                 base_channels: int = 16,
                 num_stages: int = 3,
                 strides: Optional[Sequence[Sequence[int]]] = None,
                 convs_per_stage: int = 1,
                 dropout_ratio: float = 0.,
                 head_pool: str = 'avg',
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv3d'),
                dict(type='Constant', layer='BatchNorm3d', val=1)
            ]
        super().__init__(init_cfg=init_cfg)
        if num_stages < 1 or convs_per_stage < 1 or base_channels < 1:
            raise ValueError(
                'StagedC3D needs num_stages, convs_per_stage and '
                f'base_channels >= 1, got {num_stages}, {convs_per_stage} '
                f'and {base_channels}.')
        strides = [(1, 2, 2)] * num_stages if strides is None else [
            tuple(s) for s in strides
        ]
        if len(strides) != num_stages or any(len(s) != 3 for s in strides):
            raise ValueError(f'StagedC3D.strides={strides}: one (t, h, w) '
                             f'stride per stage ({num_stages}) expected.')
        if head_pool not in ('avg', 'max'):
            raise ValueError(f"StagedC3D.head_pool={head_pool!r}: 'avg' or "
                             "'max' expected.")
        self.head_pool = head_pool
        self.norm_eval = norm_eval
        self.num_stages = num_stages
        self.stem = conv_bn_relu(in_channels, base_channels, (1, 1, 1))
        channels = base_channels
        self.stages = nn.ModuleList()
        for i, stride in enumerate(strides):
            width = base_channels * 2**(i + 1)
            layers = [conv_bn_relu(channels, width, stride)]
            layers += [
                conv_bn_relu(width, width, (1, 1, 1))
                for _ in range(convs_per_stage - 1)
            ]
            self.stages.append(nn.Sequential(*layers))
            channels = width
        self.feat_dim = channels
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else None

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W] -> [N, base_channels, T, H, W]``."""
        return self.stem(x)

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run stage ``index`` (0 is the shallowest)."""
        return self.stages[index](x)

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling ``[N, C, T, H, W] -> [N, C]``."""
        return x.mean(dim=(2, 3, 4))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Global average or max pooling (and dropout)
        ``-> [N, feat_dim]``."""
        x = x.amax(dim=(2, 3, 4)) if self.head_pool == 'max' else x.mean(
            dim=(2, 3, 4))
        if self.dropout is not None:
            x = self.dropout(x)
        return x
