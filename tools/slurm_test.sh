#!/usr/bin/env bash
# Usage: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [ARGS...]
# Test on a Slurm cluster, GPUS tasks of one GPU each (default 8), e.g.
# the paper's robustness protocol:
#   tools/slurm_test.sh gpu test configs/amr_i3d_hcn_ntu.py amr.pth \
#       --attack fgsm pgd cw --targets rgb skeleton both
# ARGS are tools/test.py's.
set -e
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
shift 4
exec bash "$(dirname "$0")/slurm_run.sh" test.py "$PARTITION" "$JOB_NAME" \
    "$CONFIG" "$CHECKPOINT" --launcher slurm "$@"
