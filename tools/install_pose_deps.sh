#!/usr/bin/env bash
# The steps of the `pose` extra that pip cannot resolve by itself; run by
# tools/setup_env.sh inside the activated .venv, before
# `pip install -e .[pose]` installs the rest of requirements/pose.txt.
#  1. mmcv-lite out: it installs the same `mmcv` module as mmcv.
#  2. mmcv with compiled ops: source only on the registry, and its build
#     imports torch, hence no build isolation. About 21 min on 2 cores the
#     first time; pip caches the wheel, later installs take seconds. It is
#     built for the installed torch (CUDA ops too when torch sees a GPU or
#     FORCE_CUDA=1); a cached wheel built for another torch fails to import
#     and is rebuilt. torch >= 2.14 needs C++20, which mmcv 2.1.0 does not
#     ask for: tools/cxx_std20.sh raises its -std=c++17.
#  3. xtcocotools from source, against numpy 2.
#  4. mmdet and mmpose without their declared dependencies (pose_no_deps.txt).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pin() { grep -E "^$1([=<>!~ ]|$)" "$ROOT/requirements/pose.txt"; }
if python -m pip show --quiet mmcv-lite 2>/dev/null; then
    pip uninstall --quiet -y mmcv-lite
fi
# ninja: parallel compilation (without it torch builds one file at a time).
pip install --quiet cython numpy ninja
export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}"
TORCH_INCLUDE="$(python -c \
    'from torch.utils.cpp_extension import include_paths as p; print(p()[0])' \
    2>/dev/null)"
if grep -q 'C++20 or later' "$TORCH_INCLUDE/ATen/ATen.h"; then
    export MMAMR_CXX="${CXX:-c++}" CXX="$ROOT/tools/cxx_std20.sh"
fi
pip install --quiet --no-build-isolation "$(pin mmcv)"
if ! python -c 'import mmcv.ops' 2>/dev/null; then
    echo 'install_pose_deps.sh: the installed mmcv ops do not load with' \
        "torch $(python -c 'import torch; print(torch.__version__)');" \
        'rebuilding mmcv' >&2
    pip install --quiet --no-build-isolation --no-cache-dir \
        --force-reinstall --no-deps "$(pin mmcv)"
fi
pip install --quiet --no-build-isolation --no-binary xtcocotools \
    "$(pin xtcocotools)"
# pip then reports that mmpose's `chumpy` is missing: expected, see above.
pip install --quiet --no-deps -r "$ROOT/requirements/pose_no_deps.txt"
