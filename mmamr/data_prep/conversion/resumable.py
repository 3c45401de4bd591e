# Copyright (c) mmamr contributors. All rights reserved.
"""Resumable, parallel conversion jobs with per-job caches in a work dir.

A dataset converter splits its work into jobs (one NTU sample, one iMiGUE
video), each turning raw files into annotations. :class:`ResumableRun`
runs the jobs not done yet in a process pool and pickles each job's
output to ``<work_dir>/.mmamr_conversion/<key>.pkl`` (atomically) as soon
as it finishes, so an interrupted conversion resumes where it stopped and
memory never holds more than the jobs in flight. The converter then
streams the cached outputs, in job order, into the final pickle
(:func:`~.streaming_pickle.dump_annotation_pickle`).

The work dir may be any folder, even one holding the input or the output:
everything a run writes goes to the scratch folder ``.mmamr_conversion``
in it, marked as mmamr's by a marker file, and cleaning up after success
deletes only those files, then the scratch folder, then the work dir if
the run created it, each only if nothing else is left in it.

A job's cache is reused only while its input is unchanged: a converter
can give a fingerprint of each job (e.g. the label rows it converts),
stored in the cache's name, and a job whose fingerprint changed runs
again.

Malformed input raises ``ValueError`` naming the file. By default that
stops the run (finished jobs stay cached); with ``skip_invalid=True`` the
job's samples are skipped instead, counted and reported. A job may also
skip some of its samples itself and list them in
:attr:`JobOutput.skipped`. Skips are never cached as done: a job that
failed or skipped samples runs again on the next run, so fixed input is
picked up and a run without ``skip_invalid`` never inherits a skip.
"""
import contextlib
import hashlib
import json
import multiprocessing
import pickle
import re
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence, Set, Tuple, Union)

from mmamr.common.atomic_io import (TMP_MARK, atomic_output,
                                    dump_pickle_atomic, remove_temporaries)
from .progress import with_progress
from .streaming_pickle import dump_annotation_pickle

KEY = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]*')
SCRATCH_DIR = '.mmamr_conversion'
MARKER_FILE = 'MMAMR_CONVERSION.json'
OPTIONS_FILE = 'options.json'
# Outputs with skipped samples: used by this run's assembly, not "done"
# (a '+' cannot occur in a key).
PARTIAL = '+partial'
# Separates a key from its fingerprint in a cache's name ('@' cannot
# occur in a key either).
STAMP = '@'
# The names of the caches (of any key, fingerprint, partial or not) and
# of their atomic-write temporaries: what cleaning up may delete.
CACHE_NAME = re.compile(r'\.?[A-Za-z0-9][A-Za-z0-9_.-]*(@[0-9a-f]+)?'
                        r'(\+partial)?(\.tmp-[0-9a-f]+)?\.pkl')
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


def _execute(job: Tuple[str, Any, Path], fn: Callable[[Any], JobOutput],
             skip_invalid: bool) -> Tuple[str, Optional[List[Skip]]]:
    """Run one job in a worker and cache its output.

    Args:
        job (tuple): The key, the arguments of ``fn`` and the cache path.

    Returns:
        tuple: The key and ``None`` (done), ``[]`` (output with skipped
        samples, cached as partial) or the skip of the whole job.
    """
    key, args, path = job
    try:
        output = fn(args)
    except ValueError as e:
        if not skip_invalid:
            raise
        return key, [(key, str(e))]
    if not isinstance(output, JobOutput):
        raise TypeError(f'job {key!r} returned {type(output).__name__}, '
                        'expected JobOutput')
    if output.skipped:
        path = _partial_path(path)
    dump_pickle_atomic(output, path)
    return key, [] if output.skipped else None


def _partial_path(path: Path) -> Path:
    """Where the output of a job with skipped samples goes."""
    return path.with_name(f'{path.stem}{PARTIAL}.pkl')


def _written_by_us(name: str) -> bool:
    """Whether a file of the scratch folder is one the runs write."""
    return (name in (OPTIONS_FILE, MARKER_FILE)
            or CACHE_NAME.fullmatch(name) is not None)


def fingerprint_of(description: str) -> str:
    """A short hash of ``description``, for a cache's name."""
    return hashlib.sha256(description.encode('utf-8')).hexdigest()[:16]


class ResumableRun:
    """Jobs run at most once across interrupted runs (module docstring).

    Args:
        work_dir (str | Path): Folder holding the scratch folder of the
            per-job caches (both created if missing). It may be a user's
            folder: nothing outside the scratch folder is touched.
        options (dict): JSON-serialisable settings the cached outputs
            depend on (input folders, body count, video size...). They are
            saved in the scratch folder; a later run with other options
            fails instead of mixing outputs made two ways.
        skip_invalid (bool): Skip (count and report) jobs whose input is
            malformed instead of stopping. Not part of ``options``: skips
            are never cached. Defaults to False.
    """

    def __init__(self,
                 work_dir: Union[str, Path],
                 options: Dict[str, Any],
                 skip_invalid: bool = False) -> None:
        self.work_dir = Path(work_dir)
        self.scratch = self.work_dir / SCRATCH_DIR
        self.skip_invalid = skip_invalid
        self._created_work_dir = self._open_scratch()
        remove_temporaries(self.scratch)
        self._check_options(options)
        # Keys skipped as a whole, and keys with a partial output, in the
        # last call of run().
        self.failed: Dict[str, List[Skip]] = {}
        self.partial: Set[str] = set()
        # Cache of each key of the last run() (its fingerprint included).
        self._paths: Dict[str, Path] = {}

    def _open_scratch(self) -> bool:
        """Create or reopen the marked scratch folder.

        Returns:
            bool: Whether a run of this conversion created the work dir
            (recorded in the marker, so that a resumed run knows too).

        Raises:
            ValueError: The scratch folder exists with files but without
                the marker: it is not ours, so it is neither used nor
                cleaned.
        """
        marker = self.scratch / MARKER_FILE
        if marker.is_file():
            return json.loads(marker.read_text()).get('created_work_dir',
                                                      False)
        # A marker's temporary alone is a run killed while writing it.
        marker_tmp = f'.{marker.stem}{TMP_MARK}'
        if self.scratch.is_dir() and any(not p.name.startswith(marker_tmp)
                                         for p in self.scratch.iterdir()):
            raise ValueError(
                f'{self.scratch} is not an mmamr scratch folder (it has no '
                f'{MARKER_FILE}); move it away or pass another work dir.')
        # An empty scratch folder is one a killed run made before its
        # marker: adopting it loses nothing, but who made the work dir is
        # unknown then, so it is kept.
        created = not self.scratch.is_dir() and not self.work_dir.exists()
        self.scratch.mkdir(parents=True, exist_ok=True)
        with atomic_output(marker) as tmp:
            Path(tmp).write_text(
                json.dumps(
                    dict(
                        written_by='mmamr.data_prep.conversion',
                        purpose='per-job caches of a resumable conversion; '
                        'deleted when it succeeds',
                        created_work_dir=created),
                    indent=1) + '\n')
        return created

    def _check_options(self, options: Dict[str, Any]) -> None:
        path = self.scratch / OPTIONS_FILE
        # The JSON round trip turns tuples into lists, as on reading.
        options = json.loads(json.dumps(options))
        if path.is_file():
            old = json.loads(path.read_text())
            if old != options:
                differ = sorted(
                    k for k in set(old) | set(options)
                    if old.get(k) != options.get(k))
                raise ValueError(
                    f'{self.scratch} holds the partial results of a '
                    f'conversion with other options (differing: {differ}); '
                    'delete it, or pass another work dir, to start over.')
            return
        with atomic_output(path) as tmp:
            Path(tmp).write_text(json.dumps(options, indent=1) + '\n')

    def cache_path(self, key: str, fingerprint: Optional[str] = None) -> Path:
        """Where the output of job ``key`` is cached.

        Args:
            key (str): The job.
            fingerprint (str, optional): Its input's
                :func:`fingerprint_of`, part of the name. Defaults to None.
        """
        stamp = '' if fingerprint is None else f'{STAMP}{fingerprint}'
        return self.scratch / f'{key}{stamp}.pkl'

    def _job_cache(self, key: str, args: Any,
                   fingerprint: Optional[Callable[[Any], str]]) -> Path:
        """The cache of a job, named by its fingerprint if given."""
        if fingerprint is None:
            return self.cache_path(key)
        return self.cache_path(key, fingerprint_of(fingerprint(args)))

    def _drop_outdated(self, key: str, current: Path) -> None:
        """Delete the caches of ``key`` made from other input."""
        for path in self.scratch.glob(f'{key}{STAMP}*.pkl'):
            if path != current and path != _partial_path(current):
                path.unlink()

    def run(self,
            jobs: Sequence[Tuple[str, Any]],
            fn: Callable[[Any], JobOutput],
            workers: int = 1,
            progress: bool = False,
            initializer: Optional[Callable[[], None]] = None,
            fingerprint: Optional[Callable[[Any], str]] = None) -> int:
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
            fingerprint (callable, optional): ``args -> str`` describing
                everything of a job's input that its output depends on
                beyond the run's ``options`` (e.g. the label rows it
                converts); a cached output is reused only while the
                description is unchanged. Defaults to None (reused while
                the options are).

        Returns:
            int: How many jobs ran (the others were cached).
        """
        self.failed, self.partial = {}, set()
        keys = [key for key, _ in jobs]
        bad = [k for k in keys if not KEY.fullmatch(k)]
        if bad or len(set(keys)) != len(keys):
            raise ValueError('job keys must be unique file-name-safe '
                             f'strings, got e.g. {(bad or keys)[:3]}')
        self._paths = {
            key: self._job_cache(key, args, fingerprint)
            for key, args in jobs
        }
        pending = [(key, args, self._paths[key]) for key, args in jobs
                   if not self._paths[key].exists()]
        if fingerprint is not None:
            for key, _, path in pending:
                self._drop_outdated(key, path)
        execute = partial(_execute, fn=fn, skip_invalid=self.skip_invalid)
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
            path = self._paths.get(key) or self.cache_path(key)
            if key in self.partial:
                path = _partial_path(path)
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
        skip report, and, unless ``keep_work_dir``, deletes the caches
        (:meth:`remove`).

        Args:
            out_file (str | Path): The pickle.
            keys (Sequence[str]): Job keys, in output order.
            split_of (callable): ``annotation -> split names``.
            split_names (Sequence[str]): Splits, in order.
            skipped (list): Skips found before the jobs ran (e.g. bad
                rows of a label file); the jobs' skips are appended.
            keep_work_dir (bool): Keep the caches. Defaults to False.
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
        """Delete what the runs of this conversion wrote (after the final
        pickle is written).

        That is the caches, options and marker in the scratch folder, then
        the scratch folder and the work dir if this conversion created it,
        each only once empty: never a file or folder of someone else, even
        when the work dir is the input or output folder.
        """
        if not self.scratch.is_dir():
            return
        ours = [p for p in self.scratch.iterdir() if _written_by_us(p.name)]
        # The marker goes last: until then a killed clean-up leaves a
        # scratch folder that is still recognised as ours.
        for path in sorted(ours, key=lambda p: p.name == MARKER_FILE):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        folders = [self.scratch]
        if self._created_work_dir:
            folders.append(self.work_dir)
        for folder in folders:
            try:
                folder.rmdir()  # only if empty
            except OSError:
                return


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
