# Copyright (c) mmamr contributors. All rights reserved.
# isort: skip_file
"""mmamr: adversarially robust RGB-skeleton action recognition (AMR).

Importing the package applies the upstream fixes in :mod:`mmamr.compat`
first, then registers every model, dataset, transform and loop in
MMAction2's registries (configs load it via ``custom_imports``).
"""
from . import compat

compat.apply_all()

from .version import __version__  # noqa: E402

from . import (attacks, datasets, engine, evaluation,  # noqa: E402,F401
               models, utils)

__all__ = ['__version__']
