#!/usr/bin/env bash
# Install mmamr with the pose extra (mmdet + mmpose skeleton extraction;
# the first install compiles mmcv's ops, about 21 min on 2 cores) and its
# test dependencies into .venv and run the whole test suite, slow
# end-to-end and pose tests included. Extra arguments go to pytest, e.g.
# `bash tools/run_tests.sh -m "not slow and not pose"` for the fast subset.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/setup_env.sh" pose,tests
cd "$ROOT"
if [ "$#" -eq 0 ]; then
    set -- -m "slow or not slow"
fi
python -m pytest -p no:cacheprovider "$@"
