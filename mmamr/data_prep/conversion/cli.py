# Copyright (c) mmamr contributors. All rights reserved.
"""Command-line options and summary shared by the converter scripts."""
import argparse
import os
import sys
import time
from typing import Callable


def add_run_arguments(parser: argparse.ArgumentParser,
                      job: str,
                      workers: bool = True) -> None:
    """Add ``--workers``, ``--work-dir``, ``--keep-work-dir``,
    ``--overwrite``, ``--skip-invalid`` and ``--no-progress``.

    Args:
        parser (ArgumentParser): The script's parser.
        job (str): What one job converts, for the help ("sample").
        workers (bool): Add ``--workers`` (not for converters that run
            in one process). Defaults to True.
    """
    if workers:
        parser.add_argument(
            '--workers',
            type=int,
            default=min(8,
                        os.cpu_count() or 1),
            help=f'parallel processes, one {job} each (default: min(8, '
            'CPUs))')
    parser.add_argument(
        '--work-dir',
        help='folder of the per-job results, kept in its sub-folder '
        '.mmamr_conversion; only what the conversion wrote is deleted '
        '(default: <out_file>.work)')
    parser.add_argument(
        '--keep-work-dir',
        action='store_true',
        help='keep the per-job results after success')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace out_file if it exists (default: refuse)')
    parser.add_argument(
        '--skip-invalid',
        action='store_true',
        help='skip malformed samples (listed in <out_file>.skipped.txt) '
        'instead of stopping at the first')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')


def run_kwargs(args: argparse.Namespace) -> dict:
    """The converter keyword arguments of :func:`add_run_arguments`."""
    kwargs = dict(
        progress=not args.no_progress,
        work_dir=args.work_dir,
        keep_work_dir=args.keep_work_dir,
        overwrite=args.overwrite,
        skip_invalid=args.skip_invalid,
        return_annotations=False)
    if hasattr(args, 'workers'):
        kwargs['workers'] = args.workers
    return kwargs


def print_summary(result: dict, out_file: str, seconds: float) -> None:
    """Print the sample count, the split sizes and the skips."""
    print(f'{result["num_samples"]} samples -> {out_file} in {seconds:.1f} s')
    for name, ids in result['split'].items():
        print(f'  {name}: {len(ids)}')
    if result['skipped']:
        print(f'{len(result["skipped"])} samples skipped, listed in '
              f'{out_file}.skipped.txt')


def convert_and_report(out_file: str, convert: Callable[[], dict]) -> dict:
    """Run ``convert()`` and print its summary.

    Malformed input, a missing file or an existing ``out_file`` without
    ``--overwrite`` ends the script with ``error: <message>`` (the message
    names the file), not a traceback.
    """
    start = time.time()
    try:
        result = convert()
    except (ValueError, FileExistsError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')
    print_summary(result, out_file, time.time() - start)
    return result
