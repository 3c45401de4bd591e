# Copyright (c) mmamr contributors. All rights reserved.
"""Run one of our command-line tools as a child process, with a short
progress display on the console and its full output in a log file.

The study (quickstart, benchmark suite) runs ``tools/train.py`` and
``tools/test.py`` exactly as a user would, so that every number it prints
comes from the commands the README documents; it echoes each command so
that the user can rerun any step by hand.
"""
import os
import shlex
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.logging import print_log

# Lines worth showing while a tool runs (the full output goes to the log).
_PROGRESS_MARKS = ('Epoch(train)', 'Epoch(val)', 'Epoch(test)',
                   'Robust test [', 'Load checkpoint', 'Error', 'error:')
# An Epoch(train) line is shown at most this often, or at an epoch's end.
_TRAIN_LINE_SECONDS = 15.0
_MAX_LINE = 150


class ToolError(RuntimeError):
    """A tool exited with a non-zero status."""


def _epoch_end(line: str) -> bool:
    # "Epoch(train)  [3][50/50]": the iteration counter equals its total.
    try:
        counter = line.split('Epoch(train)')[1].split(']')[1]
        done, total = counter.strip(' [').split('/')
        return done.strip() == total.strip()
    except (IndexError, ValueError):
        return False


def _shorten(line: str) -> str:
    # Drop mmengine's "11/24 16:41:07 - mmengine - INFO - " prefix.
    if ' - INFO - ' in line:
        line = line.split(' - INFO - ', 1)[1]
    return line if len(line) <= _MAX_LINE else line[:_MAX_LINE - 3] + '...'


def run_tool(args: Sequence[str],
             log_file: str,
             root: str,
             env: Optional[Dict[str, str]] = None,
             indent: str = '    ',
             echo: Optional[Callable[[str], None]] = None) -> None:
    """Run ``python <args>`` in ``root``; progress lines to the console.

    Args:
        args (Sequence[str]): The tool and its arguments, e.g.
            ``['tools/train.py', 'configs/x.py', '--work-dir', ...]``.
        log_file (str): Where the tool's whole output is written
            (appended: a resumed step keeps the earlier attempt's log).
        root (str): The repository root (working directory of the tool).
        env (dict, optional): Extra environment variables.
        indent (str): Prefix of the echoed lines.
        echo (callable, optional): Shows a console line; defaults to the
            current MMLogger.

    Raises:
        ToolError: The tool failed; the message names the log and holds
            its last lines.
    """
    echo = echo or (lambda line: print_log(line, 'current'))
    args = [str(a) for a in args]
    cmd = [sys.executable] + args
    echo(f'{indent}$ python {shlex.join(args)}')
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    full_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (root, full_env.get('PYTHONPATH')) if p)
    tail: List[str] = []
    last_train_line = 0.
    with open(log_file, 'a', encoding='utf-8') as log:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1)
        for line in proc.stdout:
            log.write(line)
            line = line.rstrip('\n')
            tail = (tail + [line])[-40:]
            if not any(mark in line for mark in _PROGRESS_MARKS):
                continue
            if 'Epoch(train)' in line and not _epoch_end(line):
                now = time.monotonic()
                if now - last_train_line < _TRAIN_LINE_SECONDS:
                    continue
                last_train_line = now
            echo(f'{indent}{_shorten(line)}')
        status = proc.wait()
    if status != 0:
        raise ToolError(f'python {shlex.join(args)} exited with {status}; '
                        f'full output in {log_file}. Last lines:\n' +
                        '\n'.join(tail))
