# Copyright (c) mmamr contributors. All rights reserved.
from .hooks import *  # noqa: F401,F403
from .robust_test_loop import RobustTestLoop
from .runner import *  # noqa: F401,F403
from .sample_seeding import sample_generators, sample_key, sample_seed

__all__ = ['RobustTestLoop', 'sample_generators', 'sample_key', 'sample_seed']
