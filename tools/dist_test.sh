#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [ARGS...]
# One process per GPU; on a machine without CUDA, NUM_PROCS CPU processes
# communicating over gloo (useful for laptops and for our tests).
set -e
CONFIG=$1
CHECKPOINT=$2
PROCS=$3
shift 3
exec bash "$(dirname "$0")/dist_run.sh" test.py "$PROCS" "$CONFIG" \
    "$CHECKPOINT" --launcher pytorch "$@"
