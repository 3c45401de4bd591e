#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install
# mmamr into it. Usage: source tools/setup_env.sh [extra,...]
# Extras: lite (mmcv-lite, default), pose (full mmcv + mmdet + mmpose, for
# tools/data/extract_skeletons.py; needs a C++ compiler), tests.
# `lite` and `pose` exclude each other: both install the `mmcv` module.
# In a .venv that already holds the full mmcv, `lite` is dropped (full
# mmcv does everything mmcv-lite does), so the quickstart reuses a venv
# made by tools/run_tests.sh.
set -e
MMAMR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="${1:-lite}"
PYTHON="${PYTHON:-python3}"
has_extra() { case ",$EXTRAS," in *",$1,"*) return 0 ;; esac; return 1; }
if has_extra lite && has_extra pose; then
    echo "setup_env.sh: extras 'lite' and 'pose' exclude each other" \
        "(mmcv-lite and mmcv install the same module)" >&2
    return 1 2>/dev/null || exit 1
fi
if [ ! -x "$MMAMR_ROOT/.venv/bin/python" ]; then
    "$PYTHON" -m venv "$MMAMR_ROOT/.venv"
fi
# shellcheck disable=SC1091
source "$MMAMR_ROOT/.venv/bin/activate"
has_dist() { python -m pip show --quiet "$1" >/dev/null 2>&1; }
if has_extra lite && has_dist mmcv; then
    EXTRAS="$(echo ",$EXTRAS," | sed 's/,lite,/,/; s/^,//; s/,$//')"
fi
# torch first and pinned: an unpinned `torch` resolves to the newest CUDA
# build (several GB). Without `pose`: the CPU build found on our machines.
# With `pose`: mmpose needs torchvision, and the registry's torchvision
# wheels (CUDA builds) only import beside the CUDA torch they were built
# for, hence a matching pair. Users with a GPU install their own torch
# (and torchvision) before running this; an installed one is kept.
if has_extra pose; then
    if ! python -c 'import torch, torchvision' 2>/dev/null; then
        pip install --quiet "torch==${MMAMR_TORCH_VERSION:-2.14.1}" \
            "torchvision==${MMAMR_TORCHVISION_VERSION:-0.29.1}"
    fi
elif ! python -c 'import torch' 2>/dev/null; then
    pip install --quiet "torch==${MMAMR_TORCH_VERSION:-2.13.0}" \
        || pip install --quiet torch
fi
pip install --quiet "setuptools>=77,<81" wheel
if has_extra pose; then
    bash "$MMAMR_ROOT/tools/install_pose_deps.sh"
fi
pip install --quiet -e "$MMAMR_ROOT${EXTRAS:+[$EXTRAS]}"
if has_extra tests; then
    # The reference APGD the tests compare with; --no-deps because its
    # declared torchvision and requests pins are not needed and would
    # replace ours (requirements/tests_no_deps.txt).
    pip install --quiet --no-deps -r "$MMAMR_ROOT/requirements/tests_no_deps.txt"
fi
