#!/usr/bin/env bash
# Usage: tools/dist_run.sh TOOL NUM_PROCS [TOOL ARGS...]
# Runs tools/TOOL (train.py, test.py) in NUM_PROCS processes through
# torch.distributed.run: one per GPU; on a machine without CUDA, CPU
# processes communicating over gloo. NNODES, NODE_RANK, PORT, MASTER_ADDR
# and PYTHON come from the environment. dist_train.sh and dist_test.sh
# call it.
set -e
TOOL=$1
PROCS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$PROCS" --master_port="$PORT" \
    "$(dirname "$0")/$TOOL" "$@"
