# Copyright (c) mmamr contributors. All rights reserved.
"""Puts ``tests/`` on ``sys.path``, so that every test folder imports the
shared helpers at its root (``sample_data``, ``imigue_sample``,
``person_detector``) by name, and ``benchmarks/``,
whose scripts import their shared ``harness`` as a script's folder does
when run as ``python benchmarks/<script>.py``."""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for folder in (TESTS, TESTS.parent / 'benchmarks'):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
