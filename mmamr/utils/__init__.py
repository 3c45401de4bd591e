# Copyright (c) mmamr contributors. All rights reserved.
from .dist_cfg import setup_dist_cfg
from .quiet_init import init_weights_quietly
from .run_specs import parse_run_spec

__all__ = ['setup_dist_cfg', 'init_weights_quietly', 'parse_run_spec']
