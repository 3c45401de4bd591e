# Copyright (c) mmamr contributors. All rights reserved.
from .format_skeleton_input import FormatSkeletonInput
from .normalize_skeleton import NormalizeSkeleton
from .pack_rgb_skeleton_inputs import PackRGBSkeletonInputs
from .person_crop import PersonCrop
from .rgb_skeleton_decode import RGBSkeletonDecode
from .rgb_skeleton_sample_frames import RGBSkeletonSampleFrames

__all__ = [
    'FormatSkeletonInput', 'NormalizeSkeleton', 'PackRGBSkeletonInputs',
    'PersonCrop', 'RGBSkeletonDecode', 'RGBSkeletonSampleFrames'
]
