#!/bin/sh
# C++ compiler wrapper used by tools/install_pose_deps.sh to build mmcv's
# ops: mmcv 2.1.0's setup.py compiles with -std=c++17, but the headers of
# torch >= 2.14 refuse anything below C++20. Every argument is passed on
# unchanged except -std=c++17, which becomes -std=c++20.
for arg do
    shift
    [ "$arg" = "-std=c++17" ] && arg="-std=c++20"
    set -- "$@" "$arg"
done
exec "${MMAMR_CXX:-c++}" "$@"
