# Copyright (c) mmamr contributors. All rights reserved.
from .dist_cfg import setup_dist_cfg

__all__ = ['setup_dist_cfg']
