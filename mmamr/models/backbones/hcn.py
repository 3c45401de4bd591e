# Copyright (c) mmamr contributors. All rights reserved.
"""HCN, the hierarchical co-occurrence network for skeletons."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmaction.registry import MODELS

from .staged_backbone import StagedBackbone


class HCNStream(nn.Module):
    """One input stream of HCN (position or motion), conv1 to conv4.

    The point-level layers (conv1, conv2) see the coordinates as channels;
    the transpose then makes the joints the channels, so that conv3 and
    conv4 aggregate co-occurrence features over all joints at once.

    Args:
        in_channels (int): Coordinates per joint ``C``.
        num_joints (int): Joints per skeleton ``V``.
        base_channels (int): Width of conv1 and conv4 (64 in HCN).
        dropout (float): Dropout2d ratio after conv4.
    """

    def __init__(self, in_channels: int, num_joints: int, base_channels: int,
                 dropout: float) -> None:
        super().__init__()
        half = base_channels // 2
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, base_channels, kernel_size=1), nn.ReLU())
        self.conv2 = nn.Conv2d(
            base_channels, half, kernel_size=(3, 1), padding=(1, 0))
        self.conv3 = nn.Sequential(
            nn.Conv2d(num_joints, half, kernel_size=3, padding=1),
            nn.MaxPool2d(2))
        self.conv4 = nn.Sequential(
            nn.Conv2d(half, base_channels, kernel_size=3, padding=1),
            nn.Dropout2d(dropout), nn.MaxPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``[B, C, T, V]`` to ``[B, base_channels, T/4, base/8]``."""
        x = self.conv2(self.conv1(x))
        # [B, C', T, V] -> [B, V, T, C']: joints become the channels.
        x = x.permute(0, 3, 2, 1).contiguous()
        return self.conv4(self.conv3(x))


@MODELS.register_module()
class HCN(StagedBackbone):
    """HCN backbone (Li et al., "Co-occurrence Feature Learning from
    Skeleton Data for Action Recognition and Detection with Hierarchical
    Aggregation", IJCAI 2018): the paper's layers, with the kernels,
    poolings and dropouts of the public PyTorch port (huguyuehuhu/HCN-
    pytorch). Where the two differ we follow the paper: conv2 is ``W/2``
    wide (32; the port makes it as wide as the clip is long) and fc7 is
    ``fc7_channels`` wide (256; the port has 512); fc7's dropout is a
    plain Dropout (the port applies Dropout2d to the flat vector).

    Each person is processed on its own (persons are folded into the
    batch) by a position stream on ``x`` and a motion stream on
    ``x[t+1] - x[t]``; their maps are concatenated, go through conv5 and
    conv6, and are merged across persons by an element-wise max before
    fc7. The classifier (fc8) belongs to the recognizer's head.

    Stages, with ``B = N * M`` and ``W = base_channels`` (64 in HCN, where
    the stage outputs are ``[B, 128, T/4, 8]``, ``[B, 128, T/8, 4]``,
    ``[B, 256, T/16, 2]``):

    - stem: ``[N, M, T, V, C] -> [B, C, T, V]`` (layout only);
    - stage 0: both streams, conv1 to conv4, concatenated
      ``-> [B, 2W, T/4, W/8]``;
    - stage 1: conv5 ``-> [B, 2W, T/8, W/16]``;
    - stage 2: conv6 ``-> [B, 4W, T/16, W/32]``;
    - head: max over persons, flatten, fc7 ``-> [N, fc7_channels]``.

    Args:
        in_channels (int): Coordinates per joint ``C``. Defaults to 3.
        num_joints (int): Joints per skeleton ``V``. Defaults to 25.
        num_person (int): Persons per sample ``M``; inputs must have
            exactly this many (zero-padded persons are fine).
            Defaults to 2.
        clip_len (int): Frames per sample ``T``; sizes fc7, at least 16.
            Defaults to 32.
        base_channels (int): Width scale, conv1's width; every other layer
            scales with it. At least 32 (conv2's ``W/2`` output becomes an
            axis that four poolings halve). Defaults to 64.
        fc7_channels (int): Output width of fc7, i.e. ``feat_dim``. 256 in
            the paper, 512 in the PyTorch port. Defaults to 256.
        dropout (float): Ratio of every dropout layer. Defaults to 0.5.
        init_cfg (dict or list[dict], optional): Initialization config;
            ``None`` means Xavier-uniform for convolutions and fc7, as in
            HCN. Defaults to None.
    """

    num_stages = 3

    def __init__(self,
                 in_channels: int = 3,
                 num_joints: int = 25,
                 num_person: int = 2,
                 clip_len: int = 32,
                 base_channels: int = 64,
                 fc7_channels: int = 256,
                 dropout: float = 0.5,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = dict(
                type='Xavier',
                layer=['Conv2d', 'Linear'],
                distribution='uniform')
        super().__init__(init_cfg=init_cfg)
        # Four 2x poolings must leave at least one cell on both axes.
        if clip_len < 16 or base_channels < 32:
            raise ValueError(
                'HCN needs clip_len >= 16 and base_channels >= 32, got '
                f'clip_len={clip_len}, base_channels={base_channels}.')
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.num_person = num_person
        self.clip_len = clip_len
        self.base_channels = base_channels
        self.feat_dim = fc7_channels

        width = base_channels
        self.position_stream = HCNStream(in_channels, num_joints, width,
                                         dropout)
        self.motion_stream = HCNStream(in_channels, num_joints, width, dropout)
        self.conv5 = nn.Sequential(
            nn.Conv2d(2 * width, 2 * width, kernel_size=3, padding=1),
            nn.ReLU(), nn.Dropout2d(dropout), nn.MaxPool2d(2))
        self.conv6 = nn.Sequential(
            nn.Conv2d(2 * width, 4 * width, kernel_size=3, padding=1),
            nn.ReLU(), nn.Dropout2d(dropout), nn.MaxPool2d(2))
        out_len, out_width = clip_len // 16, (width // 2) // 16
        self.fc7 = nn.Sequential(
            nn.Linear(4 * width * out_len * out_width, fc7_channels),
            nn.ReLU(), nn.Dropout(dropout))

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Fold persons into the batch.

        Args:
            x (torch.Tensor): Skeletons ``[N, M, T, V, C]``.

        Returns:
            torch.Tensor: ``[N * M, C, T, V]``, persons of a sample adjacent.
        """
        expected = (self.num_person, self.clip_len, self.num_joints,
                    self.in_channels)
        if x.dim() != 5 or tuple(x.shape[1:]) != expected:
            raise ValueError(
                f'HCN expects [N, M, T, V, C] with (M, T, V, C) = {expected}, '
                f'got {tuple(x.shape)}.')
        n, m, t, v, c = x.shape
        return x.permute(0, 1, 4, 2, 3).reshape(n * m, c, t, v)

    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run stage ``index`` (see the class docstring for the shapes)."""
        if index == 0:
            # Frame differences have T - 1 steps; HCN resizes them back to T
            # (bilinear along time) so both streams align.
            motion = x[:, :, 1:] - x[:, :, :-1]
            motion = F.interpolate(
                motion, size=x.shape[2:], mode='bilinear', align_corners=False)
            return torch.cat(
                [self.position_stream(x),
                 self.motion_stream(motion)], dim=1)
        if index == 1:
            return self.conv5(x)
        if index == 2:
            return self.conv6(x)
        raise IndexError(f'HCN has {self.num_stages} stages, got {index}.')

    def _split_persons(self, x: torch.Tensor) -> torch.Tensor:
        """``[N * M, ...] -> [N, M, ...]``."""
        return x.view(-1, self.num_person, *x.shape[1:])

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Merge persons and apply fc7.

        Args:
            x (torch.Tensor): conv6 output ``[N * M, 4W, T/16, W/32]``.

        Returns:
            torch.Tensor: ``[N, fc7_channels]``.
        """
        x = self._split_persons(x).max(dim=1)[0]
        return self.fc7(x.flatten(1))

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Average each person's map, then take the max over persons.

        Args:
            x (torch.Tensor): A stage output ``[N * M, C, H, W]``.

        Returns:
            torch.Tensor: ``[N, C]``.
        """
        return self._split_persons(x.mean(dim=(2, 3))).max(dim=1)[0]
