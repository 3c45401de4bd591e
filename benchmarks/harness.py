# Copyright (c) mmamr contributors. All rights reserved.
"""What every benchmark script shares: interleaved timing, the machine's
description and the JSON report.

Targets are ratios measured side by side in one run, never absolute
times: the jobs take turns round after round (the order rotating), so
load from other processes hits them alike, and a ratio of medians (or of
the fastest runs) stays meaningful on a shared machine.
"""
import argparse
import os
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch

from mmamr.evaluation import dump_results

Job = Callable[[], object]


def add_common_args(parser: argparse.ArgumentParser, warmup: int = 1) -> None:
    """Add the options every benchmark takes: ``--warmup``, ``--threads``,
    ``--seed`` and ``--json``."""
    parser.add_argument(
        '--warmup',
        type=int,
        default=warmup,
        help=f'untimed runs first (default {warmup})')
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch.set_num_threads (default: torch\'s own choice)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--json', default=None, help='also write results')


def synchronize() -> None:
    """Wait for queued GPU work, so that it is timed where it is done."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def summary(times: Sequence[float]) -> Dict[str, object]:
    """Median, mean, min and max of single times, and the times."""
    return dict(
        median_s=statistics.median(times),
        mean_s=statistics.mean(times),
        min_s=min(times),
        max_s=max(times),
        runs=list(times))


def time_interleaved(
    jobs: Dict[str, Job],
    warmup: int,
    rounds: int,
    before_each: Optional[Callable[[str], None]] = None,
    after_each: Optional[Callable[[str], None]] = None
) -> Dict[str, Dict[str, object]]:
    """Time each job ``rounds`` times, the jobs taking turns.

    Round ``r`` starts with job ``r mod len(jobs)`` so that no job always
    follows the same one (caches, allocator state, other processes).

    Args:
        jobs (dict[str, callable]): Name -> the measured work, once.
        warmup (int): Untimed runs of each job first.
        rounds (int): Timed runs of each job.
        before_each, after_each (callable, optional): Called with the
            job's name just outside its timed span (e.g. to reset or read
            a memory peak).

    Returns:
        dict: Name -> :func:`summary` of its times in seconds.
    """
    if rounds < 1:
        raise ValueError(f'rounds must be at least 1, got {rounds}')
    for _ in range(warmup):
        for job in jobs.values():
            job()
    names = list(jobs)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if before_each is not None:
                before_each(name)
            synchronize()
            start = time.perf_counter()
            jobs[name]()
            synchronize()
            times[name].append(time.perf_counter() - start)
            if after_each is not None:
                after_each(name)
    return {name: summary(t) for name, t in times.items()}


def best_of(job: Job, repeat: int) -> float:
    """The fastest of ``repeat`` timed runs after one warm-up (seconds):
    what one unit of work costs on a quiet machine."""
    job()
    times = []
    for _ in range(repeat):
        synchronize()
        start = time.perf_counter()
        job()
        synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def machine() -> Dict[str, object]:
    """Where the figures were measured: CPUs, threads, versions, load."""
    return dict(
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        cuda=torch.cuda.get_device_name()
        if torch.cuda.is_available() else None,
        python=platform.python_version(),
        platform=platform.platform(),
        loadavg=os.getloadavg())


def command(script: str, argv: Optional[Sequence[str]]) -> str:
    """The command line that reproduces a run."""
    args = sys.argv[1:] if argv is None else argv
    return ' '.join([f'benchmarks/{script}', *args])


def report(results: dict, text: str, json_path: Optional[str]) -> dict:
    """Print the human-readable report and write the JSON (atomically)."""
    print(text)
    if json_path:
        dump_results(results, json_path)
    return results


def machine_line(info: Dict[str, object]) -> str:
    """One line of the report from :func:`machine`'s dict."""
    device = info['cuda'] or 'no GPU'
    return (f"machine: {info['cpu_count']} CPU cores, {device}, torch "
            f"{info['torch_version']} with {info['torch_threads']} "
            f"threads, Python {info['python']}; load average (1 min) "
            f"{info['loadavg'][0]:.2f}")
