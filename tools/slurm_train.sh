#!/usr/bin/env bash
# Usage: tools/slurm_train.sh PARTITION JOB_NAME CONFIG [ARGS...]
# Train on a Slurm cluster, GPUS tasks of one GPU each (default 8: the
# configs' total batch of 16), e.g.
#   GPUS=8 tools/slurm_train.sh gpu amr configs/amr_i3d_hcn_ntu.py --resume
# `--resume` continues from the latest checkpoint of the work dir (a fresh
# work dir starts from scratch): keep it in jobs that may be preempted and
# requeued (docs/cluster.md). ARGS are tools/train.py's.
set -e
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
exec bash "$(dirname "$0")/slurm_run.sh" train.py "$PARTITION" "$JOB_NAME" \
    "$CONFIG" --launcher slurm "$@"
