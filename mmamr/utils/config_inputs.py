# Copyright (c) mmamr contributors. All rights reserved.
"""Input shapes that a two-stream config's model expects."""
from typing import Dict

from mmengine.config import Config


def config_input_shapes(cfg: Config) -> Dict[str, tuple]:
    """Per-sample input shapes (one view) of a config's clips.

    RGB ``(1, 3, T_R, S, S)`` from ``clip_len['RGB']`` and ``image_size``;
    skeleton ``(1, M, T_S, V, C)`` from ``clip_len['Pose']`` and the skeleton
    backbone's ``num_person``, ``num_joints`` and ``in_channels``. Configs
    without these top-level variables get the NTU defaults (16 RGB frames
    of 56 x 56, 32 skeleton frames of 2 x 25 joints in 3-D). For benchmarks
    and tests that feed random inputs.
    """
    clip_len = cfg.get('clip_len', dict(RGB=16, Pose=32))
    size = cfg.get('image_size', 56)
    skel = cfg.model.skeleton_backbone
    return dict(
        rgb=(1, 3, clip_len['RGB'], size, size),
        skeleton=(1, skel.get('num_person', 2), clip_len['Pose'],
                  skel.get('num_joints', 25), skel.get('in_channels', 3)))
