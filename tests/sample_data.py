# Copyright (c) mmamr contributors. All rights reserved.
"""Where the real sample files (NTU, iMiGUE) are: ``tests/data``.

The repository keeps copies of the real-format samples (see
``tests/data/README.md``), so every clone tests the converters and loaders
on real files; a test fails, never skips, when one is missing.
``$MMAMR_SAMPLE_DATA`` points the tests at another copy.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = Path(
    os.environ.get('MMAMR_SAMPLE_DATA', ROOT / 'tests' / 'data'))
NTU_DIR = SAMPLE_DATA / 'ntu'
IMIGUE_DIR = SAMPLE_DATA / 'imigue'
