# Copyright (c) mmamr contributors. All rights reserved.
"""Puts ``tests/`` on ``sys.path`` so that every test folder imports the
shared helpers at its root (``sample_data``) by name."""
import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
