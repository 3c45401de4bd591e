#!/usr/bin/env bash
# The README's main command: install mmamr into .venv (no compiler needed)
# and run the quickstart on the synthetic dataset. Arguments go to
# tools/quickstart.py (e.g. --epochs 5).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/setup_env.sh" lite
cd "$ROOT"
python tools/quickstart.py "$@"
