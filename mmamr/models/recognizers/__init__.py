# Copyright (c) mmamr contributors. All rights reserved.
from .rgb_skeleton_recognizer import RGBSkeletonRecognizer

__all__ = ['RGBSkeletonRecognizer']
