# Copyright (c) mmamr contributors. All rights reserved.
"""Stage interface for mmaction2's RGBPoseConv3D (RGB + pose heatmaps)."""
from typing import Dict, Optional, Tuple

import torch
from mmaction.registry import MODELS

from .coupled_staged_backbone import CoupledStagedBackbone, Maps


@MODELS.register_module()
class StagedRGBPoseConv3D(CoupledStagedBackbone):
    """Expose mmaction2's ``RGBPoseConv3D`` stage by stage.

    RGBPoseConv3D (PoseC3D's RGB-pose model) has an RGB pathway (a
    ``ResNet3dPathway`` with 4 layers) and a pose pathway (3 layers) over
    heatmap volumes, which exchange lateral connections twice. A pathway's
    features therefore depend on both inputs: the recognizer treats this
    backbone as coupling the modalities, and a single-modality attack
    runs the whole model at every step (no branch-cached fast path).

    Builds the backbone from its usual config and splits its own forward
    pass, so that with nothing between the stages the maps equal
    ``backbone(imgs, heatmap_imgs)`` exactly. Inputs, as the recognizer
    gives them after its normalisation:

    - ``rgb``: ``[N, 3, T_R, H, W]``;
    - ``skeleton``: pose heatmap volumes ``[N, K, T_S, H', W']`` as
      mmaction2's ``GeneratePoseTarget`` makes them (K keypoints, values
      in [0, 1]). This is the input attacks perturb for this family
      (DESIGN.md D5): ε is a fraction of the heatmap range, not of a
      coordinate range.

    Stages (aligned at the pathways' lateral connections):

    - stem: ``conv1`` and ``maxpool`` of each pathway;
    - stage 0: RGB ``layer1``, ``layer2``; pose ``layer1``;
    - stage 1: the laterals (RGB ``layer2_lateral`` from the pose map,
      pose ``layer1_lateral`` from the RGB map, concatenated to the other
      pathway's map), then RGB ``layer3``, pose ``layer2``;
    - stage 2: the laterals ``layer3_lateral`` / ``layer2_lateral``, then
      RGB ``layer4``, pose ``layer3``;
    - head: global average pooling of each pathway, ``rgb [N, 2048]`` and
      ``skeleton [N, 512]`` by default.

    A module between stages (AMR) thus acts on each pathway's map before
    the laterals read it.

    The drop-path of the laterals (``rgb_drop_path``, ``pose_drop_path``,
    training only) is drawn in :meth:`forward_stem`, as ``RGBPoseConv3D``
    draws it at the start of its forward, and holds for the stages of
    that forward.

    The wrapped module is ``self.backbone``: mmaction2 checkpoints of the
    backbone load with a ``backbone.`` prefix. ``init_weights`` calls the
    wrapped backbone's own.

    Args:
        backbone (dict, optional): Config of the wrapped
            ``RGBPoseConv3D``. Defaults to ``dict(type='RGBPoseConv3D')``
            (mmaction2's defaults, those of its rgbpose_conv3d config).
        init_cfg (dict, optional): Initialization config of this wrapper.
            Defaults to None.

    Example:
        >>> backbone = dict(
        ...     type='StagedRGBPoseConv3D',
        ...     backbone=dict(type='RGBPoseConv3D'))
    """

    modalities = ('rgb', 'skeleton')

    def __init__(self,
                 backbone: Optional[Dict] = None,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone or dict(type='RGBPoseConv3D'))
        net = self.backbone
        for name in ('rgb_path', 'pose_path', 'rgb_detach', 'pose_detach',
                     'rgb_drop_path', 'pose_drop_path'):
            if not hasattr(net, name):
                raise TypeError('StagedRGBPoseConv3D wraps RGBPoseConv3D; '
                                f'{type(net).__name__} has no `{name}`.')
        layers = (len(net.rgb_path.res_layers), len(net.pose_path.res_layers))
        if layers != (4, 3):
            # RGBPoseConv3D.forward itself hard-codes 4 + 3 layers.
            raise ValueError('RGBPoseConv3D runs 4 RGB and 3 pose layers; '
                             f'the config builds {layers[0]} and '
                             f'{layers[1]}.')
        self.num_stages = 3
        self.feat_dims = dict(
            rgb=net.rgb_path.feat_dim, skeleton=net.pose_path.feat_dim)
        self._drop = (False, False)

    def forward_stem(self, inputs: Maps) -> Maps:
        """``conv1`` and ``maxpool`` of both pathways.

        Args:
            inputs (dict): ``rgb`` ``[N, 3, T_R, H, W]`` and ``skeleton``
                (heatmaps) ``[N, K, T_S, H', W']``.

        Returns:
            dict: The inputs of stage 0.
        """
        net = self.backbone
        if net.training:
            # Drawn first, in RGBPoseConv3D.forward's order.
            rgb_drop = bool(torch.rand(1) < net.rgb_drop_path)
            pose_drop = bool(torch.rand(1) < net.pose_drop_path)
            self._drop = (rgb_drop, pose_drop)
        else:
            self._drop = (False, False)
        rgb = net.rgb_path.maxpool(net.rgb_path.conv1(inputs['rgb']))
        pose = net.pose_path.maxpool(net.pose_path.conv1(inputs['skeleton']))
        return dict(rgb=rgb, skeleton=pose)

    def _exchange(self, index: int, rgb: torch.Tensor,
                  pose: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The lateral connections at the start of stage ``index``."""
        net = self.backbone
        rgb_drop, pose_drop = self._drop
        # RGB layer{index + 2} reads the pose map via its
        # layer{index + 1}_lateral; pose layer{index + 1} the RGB map via
        # layer{index}_lateral (as RGBPoseConv3D.forward).
        to_rgb = getattr(net.rgb_path, f'layer{index + 1}_lateral', None)
        to_pose = getattr(net.pose_path, f'layer{index}_lateral', None)
        if to_rgb is not None:
            lateral_pose = to_rgb(pose.detach() if net.rgb_detach else pose)
            if rgb_drop:
                lateral_pose = lateral_pose.new_zeros(lateral_pose.shape)
        if to_pose is not None:
            lateral_rgb = to_pose(rgb.detach() if net.pose_detach else rgb)
            if pose_drop:
                lateral_rgb = lateral_rgb.new_zeros(lateral_rgb.shape)
        if to_rgb is not None:
            rgb = torch.cat((rgb, lateral_pose), dim=1)
        if to_pose is not None:
            pose = torch.cat((pose, lateral_rgb), dim=1)
        return rgb, pose

    def forward_stage(self, index: int, maps: Maps) -> Maps:
        """Run stage ``index`` of both pathways (see the class docstring).

        Args:
            index (int): 0, 1 or 2.
            maps (dict): ``rgb`` and ``skeleton`` maps
                ``[N, C, T, H, W]``.

        Returns:
            dict: The stage's ``rgb`` and ``skeleton`` maps.
        """
        if not 0 <= index < self.num_stages:
            raise IndexError(f'{self.name} has {self.num_stages} stages, '
                             f'got {index}.')
        rgb_path, pose_path = self.backbone.rgb_path, self.backbone.pose_path
        rgb, pose = maps['rgb'], maps['skeleton']
        if index == 0:
            rgb = rgb_path.layer2(rgb_path.layer1(rgb))
        else:
            rgb, pose = self._exchange(index, rgb, pose)
            rgb = getattr(rgb_path, f'layer{index + 2}')(rgb)
        pose = getattr(pose_path, f'layer{index + 1}')(pose)
        return dict(rgb=rgb, skeleton=pose)

    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Global average pooling ``[N, C, T, H, W] -> [N, C]``."""
        return x.mean(dim=(2, 3, 4))

    def forward_head(self, maps: Maps) -> Maps:
        """Pool each pathway's last map: ``rgb [N, 2048]``, ``skeleton
        [N, 512]`` by default."""
        return {m: self.pool_stage(maps[m]) for m in self.modalities}
