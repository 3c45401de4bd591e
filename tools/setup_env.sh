#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install
# mmamr into it. Usage: source tools/setup_env.sh [extra,...]
# Extras: lite (mmcv-lite, default), tests.
set -e
MMAMR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-lite}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$MMAMR_ROOT/.venv/bin/python" ]; then
    "$PYTHON" -m venv "$MMAMR_ROOT/.venv"
fi
# shellcheck disable=SC1091
source "$MMAMR_ROOT/.venv/bin/activate"
# torch first and pinned to the CPU build found on our machines: an unpinned
# `torch` resolves to the newest CUDA build (several GB). Users with a GPU
# install their own torch before running this; an installed torch is kept.
if ! python -c 'import torch' 2>/dev/null; then
    pip install --quiet "torch==${MMAMR_TORCH_VERSION:-2.13.0}" \
        || pip install --quiet torch
fi
pip install --quiet "setuptools>=77,<81" wheel
pip install --quiet -e "$MMAMR_ROOT[$EXTRAS]"
