# Copyright (c) mmamr contributors. All rights reserved.
from .config_inputs import config_input_shapes
from .dist_cfg import setup_dist_cfg
from .quiet_init import init_weights_quietly
from .run_specs import load_named_runs, parse_run_spec

__all__ = [
    'config_input_shapes', 'setup_dist_cfg', 'init_weights_quietly',
    'load_named_runs', 'parse_run_spec'
]
