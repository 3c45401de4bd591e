# Copyright (c) mmamr contributors. All rights reserved.
from .fusion_head import FusionHead

__all__ = ['FusionHead']
