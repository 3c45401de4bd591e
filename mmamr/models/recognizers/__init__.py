# Copyright (c) mmamr contributors. All rights reserved.
from .adversarial_training import AdversarialTraining
from .rgb_skeleton_recognizer import RGBSkeletonRecognizer

__all__ = ['AdversarialTraining', 'RGBSkeletonRecognizer']
