# Copyright (c) mmamr contributors. All rights reserved.
"""Resumable, parallel conversion jobs with per-job caches in a work dir.

A dataset converter splits its work into jobs (one NTU sample, one iMiGUE
video), each turning raw files into annotations. :class:`ResumableRun`
runs the jobs not done yet in a process pool and pickles each job's
output to ``<work_dir>/<key>.pkl`` (atomically) as soon as it finishes, so
an interrupted conversion resumes where it stopped and memory never holds
more than the jobs in flight. The converter then streams the cached
outputs, in job order, into the final pickle
(:func:`~.streaming_pickle.dump_annotation_pickle`).

Malformed input raises ``ValueError`` naming the file. By default that
stops the run (finished jobs stay cached); with ``skip_invalid=True`` the
job's samples are skipped instead, counted and reported. A job may also
skip some of its samples itself and list them in
:attr:`JobOutput.skipped`. Skips are never cached as done: a job that
failed or skipped samples runs again on the next run, so fixed input is
picked up and a run without ``skip_invalid`` never inherits a skip.
"""
import contextlib
import json
import multiprocessing
import pickle
import re
import shutil
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Set, Tuple, Union)

from mmamr.common.atomic_io import (atomic_output, dump_pickle_atomic,
                                    remove_temporaries)
from .progress import with_progress
from .streaming_pickle import dump_annotation_pickle

KEY = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')
OPTIONS_FILE = 'options.json'
# Outputs with skipped samples: used by this run's assembly, not "done"
# (a '+' cannot occur in a key).
PARTIAL = '+partial'
Skip = Tuple[str, str]  # (sample name, reason)


@dataclass
class JobOutput:
    """What one job produced.

    Attributes:
        annotations (list[dict]): Converted samples, in their final order.
        skipped (list[tuple[str, str]]): ``(sample, reason)`` of samples
            the job left out (only under ``skip_invalid``).
    """

    annotations: List[dict] = field(default_factory=list)
    skipped: List[Skip] = field(default_factory=list)


def _execute(job: Tuple[str, Any], fn: Callable[[Any],
                                                JobOutput], work_dir: str,
             skip_invalid: bool) -> Tuple[str, Optional[List[Skip]]]:
    """Run one job in a worker and cache its output.

    Returns:
        tuple: The key and ``None`` (done), ``[]`` (output with skipped
        samples, cached as partial) or the skip of the whole job.
    """
    key, args = job
    try:
        output = fn(args)
    except ValueError as e:
        if not skip_invalid:
            raise
        return key, [(key, str(e))]
    if not isinstance(output, JobOutput):
        raise TypeError(f'job {key!r} returned {type(output).__name__}, '
                        'expected JobOutput')
    suffix = PARTIAL if output.skipped else ''
    dump_pickle_atomic(output, Path(work_dir) / f'{key}{suffix}.pkl')
    return key, [] if output.skipped else None


class ResumableRun:
    """Jobs run at most once across interrupted runs (module docstring).

    Args:
        work_dir (str | Path): Folder of the per-job caches (created).
        options (dict): JSON-serialisable settings the cached outputs
            depend on (input folders, body count, video size...). They are
            saved in the work dir; a later run with other options fails
            instead of mixing outputs made two ways.
        skip_invalid (bool): Skip (count and report) jobs whose input is
            malformed instead of stopping. Not part of ``options``: skips
            are never cached. Defaults to False.
    """

    def __init__(self,
                 work_dir: Union[str, Path],
                 options: Dict[str, Any],
                 skip_invalid: bool = False) -> None:
        self.work_dir = Path(work_dir)
        self.skip_invalid = skip_invalid
        self.work_dir.mkdir(parents=True, exist_ok=True)
        remove_temporaries(self.work_dir)
        self._check_options(options)
        # Keys skipped as a whole, and keys with a partial output, in the
        # last call of run().
        self.failed: Dict[str, List[Skip]] = {}
        self.partial: Set[str] = set()

    def _check_options(self, options: Dict[str, Any]) -> None:
        path = self.work_dir / OPTIONS_FILE
        # The JSON round trip turns tuples into lists, as on reading.
        options = json.loads(json.dumps(options))
        if path.is_file():
            old = json.loads(path.read_text())
            if old != options:
                differ = sorted(
                    k for k in set(old) | set(options)
                    if old.get(k) != options.get(k))
                raise ValueError(
                    f'{self.work_dir} holds the partial results of a '
                    f'conversion with other options (differing: {differ}); '
                    'delete it, or pass another work dir, to start over.')
            return
        with atomic_output(path) as tmp:
            Path(tmp).write_text(json.dumps(options, indent=1) + '\n')

    def cache_path(self, key: str) -> Path:
        """Where the output of job ``key`` is cached."""
        return self.work_dir / f'{key}.pkl'

    def run(self,
            jobs: Sequence[Tuple[str, Any]],
            fn: Callable[[Any], JobOutput],
            workers: int = 1,
            progress: bool = False,
            initializer: Optional[Callable[[], None]] = None) -> int:
        """Run the jobs whose output is not cached yet.

        Args:
            jobs (Sequence[tuple[str, Any]]): ``(key, args)`` pairs; keys
                are unique file-name-safe strings, ``fn(args)`` does the
                work. ``fn`` must be picklable when ``workers > 1``.
            fn (callable): ``args -> JobOutput``; raises ``ValueError`` on
                malformed input.
            workers (int): Parallel processes. Defaults to 1.
            progress (bool): Show a progress bar. Defaults to False.
            initializer (callable, optional): Run once in each worker
                process. Defaults to None.

        Returns:
            int: How many jobs ran (the others were cached).
        """
        self.failed, self.partial = {}, set()
        keys = [key for key, _ in jobs]
        bad = [k for k in keys if not KEY.fullmatch(k)]
        if bad or len(set(keys)) != len(keys):
            raise ValueError('job keys must be unique file-name-safe '
                             f'strings, got e.g. {(bad or keys)[:3]}')
        pending = [job for job in jobs if not self.cache_path(job[0]).exists()]
        execute = partial(
            _execute,
            fn=fn,
            work_dir=str(self.work_dir),
            skip_invalid=self.skip_invalid)
        with contextlib.ExitStack() as stack:
            if workers > 1 and len(pending) > 1:
                processes = min(workers, len(pending))
                pool = stack.enter_context(
                    multiprocessing.Pool(processes, initializer))
                # Small chunks keep the progress bar live and the load
                # balanced; they only matter for many tiny jobs.
                chunk = max(1, min(16, len(pending) // (4 * processes)))
                results = pool.imap_unordered(execute, pending, chunk)
            else:
                results = map(execute, pending)
            if progress:
                results = with_progress(results, len(jobs),
                                        len(jobs) - len(pending))
            for key, skipped in results:
                if skipped:
                    self.failed[key] = skipped
                elif skipped is not None:
                    self.partial.add(key)
        return len(pending)

    def outputs(self, keys: Sequence[str]) -> Iterator[JobOutput]:
        """Yield the outputs of ``keys`` in order, one at a time.

        A job skipped as a whole in this run yields its skip; every other
        key must have run.
        """
        for key in keys:
            if key in self.failed:
                yield JobOutput(skipped=self.failed[key])
                continue
            path = self.cache_path(key)
            if key in self.partial:
                path = path.with_name(f'{key}{PARTIAL}.pkl')
            with open(path, 'rb') as f:
                yield pickle.load(f)

    def annotations(self, keys: Sequence[str],
                    skipped: List[Skip]) -> Iterator[dict]:
        """Yield the annotations of ``keys`` in order; collect the skips.

        Args:
            keys (Sequence[str]): Job keys, in output order.
            skipped (list): Receives every ``(sample, reason)`` skipped.
        """
        for output in self.outputs(keys):
            skipped.extend(output.skipped)
            yield from output.annotations

    def write_pickle(self,
                     out_file: Union[str, Path],
                     keys: Sequence[str],
                     split_of: Callable[[dict], Iterable[str]],
                     split_names: Sequence[str],
                     skipped: List[Skip],
                     keep_work_dir: bool = False,
                     return_annotations: bool = True) -> dict:
        """Assemble the final pickle from the outputs of ``keys``.

        Streams the annotations into ``out_file`` (see
        :func:`~.streaming_pickle.dump_annotation_pickle`), writes the
        skip report, and removes the work dir unless ``keep_work_dir``.

        Args:
            out_file (str | Path): The pickle.
            keys (Sequence[str]): Job keys, in output order.
            split_of (callable): ``annotation -> split names``.
            split_names (Sequence[str]): Splits, in order.
            skipped (list): Skips found before the jobs ran (e.g. bad
                rows of a label file); the jobs' skips are appended.
            keep_work_dir (bool): Keep the work dir. Defaults to False.
            return_annotations (bool): Read the pickle's annotations back
                into the result. Defaults to True.

        Returns:
            dict: ``split``, ``num_samples``, ``skipped`` and, with
            ``return_annotations``, ``annotations``.
        """
        count = 0

        def counted(annotations: Iterator[dict]) -> Iterator[dict]:
            nonlocal count
            for ann in annotations:
                count += 1
                yield ann

        split = dump_annotation_pickle(
            out_file, counted(self.annotations(keys, skipped)), split_of,
            split_names)
        write_skip_report(out_file, skipped)
        if not keep_work_dir:
            self.remove()
        result = dict(split=split, num_samples=count, skipped=skipped)
        if return_annotations:
            with open(out_file, 'rb') as f:
                result['annotations'] = pickle.load(f)['annotations']
        return result

    def remove(self) -> None:
        """Delete the work dir (after the final pickle is written)."""
        shutil.rmtree(self.work_dir, ignore_errors=True)


def write_skip_report(out_file: Union[str, Path],
                      skipped: Sequence[Skip]) -> Optional[Path]:
    """Write ``<out_file>.skipped.txt``, one ``sample<TAB>reason`` a line.

    With nothing skipped, a report left by an earlier run is removed.

    Returns:
        Path | None: The report, or ``None`` when nothing was skipped.
    """
    path = Path(f'{out_file}.skipped.txt')
    if not skipped:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    with atomic_output(path) as tmp:
        Path(tmp).write_text(''.join(f'{name}\t{" ".join(reason.split())}\n'
                                     for name, reason in skipped))
    return path
