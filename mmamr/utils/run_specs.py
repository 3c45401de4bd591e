# Copyright (c) mmamr contributors. All rights reserved.
"""Command-line names of the runs an analysis tool compares."""
import os.path as osp
from typing import Optional, Tuple


def parse_run_spec(spec: str, filename: str) -> Tuple[Optional[str], str]:
    """``[NAME=]PATH`` -> (row name or None, result file).

    Args:
        spec (str): A result file, or a work dir holding ``filename``,
            optionally prefixed by ``NAME=`` (the run's name in tables
            and legends; without it the file's own ``name`` is used).
        filename (str): The file to look for in a work dir, e.g.
            ``robustness.json``.

    Returns:
        tuple: The name (None when not given) and the file's path.
    """
    name, path = None, spec
    # A path may hold '=', a name may not hold a path separator.
    if '=' in spec and not osp.exists(spec):
        name, path = spec.split('=', 1)
        if not name or osp.sep in name:
            raise ValueError(f'Run {spec!r}: expected [NAME=]PATH.')
    if osp.isdir(path):
        path = osp.join(path, filename)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Run {spec!r}: the work dir has no {filename} (run '
                'tools/test.py with --work-dir there first).')
    return name, path
