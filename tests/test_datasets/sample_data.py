# Copyright (c) mmamr contributors. All rights reserved.
"""Where the real sample files (NTU, iMiGUE) are.

``$MMAMR_SAMPLE_DATA`` if set, else the first ``shared/data`` folder found
beside the repository or above it (a git worktree sits deeper than the
main checkout). Tests that need a file skip when it is absent.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _find() -> Path:
    env = os.environ.get('MMAMR_SAMPLE_DATA')
    if env:
        return Path(env)
    for folder in (ROOT, *ROOT.parents):
        candidate = folder / 'shared' / 'data'
        if candidate.is_dir():
            return candidate
    return ROOT / 'shared' / 'data'


SAMPLE_DATA = _find()
NTU_DIR = SAMPLE_DATA / 'ntu'
IMIGUE_DIR = SAMPLE_DATA / 'imigue'
