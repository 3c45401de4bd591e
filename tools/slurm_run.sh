#!/usr/bin/env bash
# Usage: tools/slurm_run.sh TOOL PARTITION JOB_NAME [TOOL ARGS...]
# Runs tools/TOOL (train.py, test.py) as GPUS Slurm tasks, one per GPU,
# as MMAction2's slurm scripts do (the callers pass --launcher slurm).
# GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS,
# MASTER_PORT (random) and PYTHON come from the environment.
# slurm_train.sh and slurm_test.sh call it.
set -e
TOOL=$1
PARTITION=$2
JOB_NAME=$3
shift 3
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
# One port per job, so that two jobs on one node do not collide.
export MASTER_PORT=${MASTER_PORT:-$((12000 + RANDOM % 20000))}

set -x
# shellcheck disable=SC2086  # SRUN_ARGS holds several words
PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    "$PYTHON" -u "$(dirname "$0")/$TOOL" "$@"
