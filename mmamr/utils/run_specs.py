# Copyright (c) mmamr contributors. All rights reserved.
"""Command-line names of the runs an analysis tool compares."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple


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


def load_named_runs(specs: Sequence[str], filename: str,
                    load: Callable[[str], dict]) -> List[Tuple[str, dict]]:
    """``(name, loaded file)`` of every ``[NAME=]PATH``, in the given order.

    Args:
        specs (Sequence[str]): Run specs (see :func:`parse_run_spec`).
        filename (str): The file to look for in a work dir.
        load (Callable): Reads a result file into a dict with a ``name``,
            which names the run when its spec does not.

    Raises:
        ValueError: Two runs end up with the same name.
    """
    runs = []
    for spec in specs:
        name, path = parse_run_spec(spec, filename)
        loaded = load(path)
        runs.append((name or loaded['name'], loaded))
    names = [name for name, _ in runs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'Runs {repeated} appear more than once; name them '
                         'NAME=PATH.')
    return runs
