#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NUM_PROCS [ARGS...]
# One process per GPU; on a machine without CUDA, NUM_PROCS CPU processes
# communicating over gloo (useful for laptops and for our tests).
set -e
CONFIG=$1
PROCS=$2
shift 2
exec bash "$(dirname "$0")/dist_run.sh" train.py "$PROCS" "$CONFIG" \
    --launcher pytorch "$@"
