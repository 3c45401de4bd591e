# Copyright (c) mmamr contributors. All rights reserved.
from .rgb_skeleton_collate import rgb_skeleton_collate
from .rgb_skeleton_dataset import RGBSkeletonDataset
from .transforms import (FormatSkeletonInput, NormalizeSkeleton,
                         PackRGBSkeletonInputs, RGBSkeletonDecode,
                         RGBSkeletonSampleFrames)

__all__ = [
    'RGBSkeletonDataset', 'FormatSkeletonInput', 'NormalizeSkeleton',
    'PackRGBSkeletonInputs', 'RGBSkeletonDecode', 'RGBSkeletonSampleFrames',
    'rgb_skeleton_collate'
]
