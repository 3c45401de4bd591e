# Copyright (c) mmamr contributors. All rights reserved.
"""Atomic file writes: readers see the old file or the new one, never half.

Every file mmamr writes (annotation pickles, per-sample caches, re-encoded
videos, result JSON, tables, figures, checkpoints built by the tools) goes
through :func:`atomic_output`, so an interrupted run leaves only complete
files plus hidden temporaries, which :func:`remove_temporaries` deletes
when the next run starts.
"""
import contextlib
import os
import pickle
import secrets
from pathlib import Path
from typing import Iterator, Sequence, Union

PathLike = Union[str, Path]
# ``.<stem>.tmp-<8 hex digits><suffix>``: hidden from the usual globs.
TMP_MARK = '.tmp-'


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` on success.

    The temporary file sits in the same folder (created if missing), so
    ``os.replace`` is an atomic rename, and keeps the suffix, so writers
    that pick a format by extension (``cv2.VideoWriter``,
    ``Figure.savefig``) still work. It is fsynced before the rename; on
    any exception it is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkstemp: its 0600 mode would survive the rename; this
    # keeps the user's umask. The leading dot hides it from the globs.
    tmp = str(path.parent /
              f'.{path.stem}{TMP_MARK}{secrets.token_hex(4)}{path.suffix}')
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename (best effort: not every OS can fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def refuse_overwrite(paths: Union[PathLike, Sequence[PathLike]],
                     overwrite: bool) -> None:
    """Fail if one of ``paths`` exists, unless ``overwrite``: a tool
    replaces an earlier output only on request.

    Call it before any work starts, so a refused run leaves no trace. A
    resumed run is unaffected when the output is written last (a run
    interrupted before it has none).

    Raises:
        FileExistsError: The message names every existing path.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    existing = [str(p) for p in paths if os.path.lexists(p)]
    if existing and not overwrite:
        one = len(existing) == 1
        raise FileExistsError(
            f'{", ".join(existing)} already exist{"s" if one else ""}; pass '
            '--overwrite (overwrite=True in Python) to replace '
            f'{"it" if one else "them"}')


def write_text_atomic(text: str, path: PathLike) -> None:
    """Write ``text`` (UTF-8) to ``path`` via :func:`atomic_output`."""
    with atomic_output(path) as tmp:
        Path(tmp).write_text(text, encoding='utf-8')


def dump_pickle_atomic(obj, path: PathLike) -> None:
    """Pickle ``obj`` to ``path`` via :func:`atomic_output`."""
    with atomic_output(path) as tmp, open(tmp, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def save_figure_atomic(fig, path: PathLike, **kwargs) -> None:
    """Save a matplotlib figure via :func:`atomic_output` (format by the
    file's extension, PNG without one; ``kwargs`` go to ``savefig``)."""
    with atomic_output(path) as tmp:
        fig.savefig(tmp, **kwargs)


def remove_temporaries(folder: PathLike, stem: str = '*') -> int:
    """Delete what killed writers left behind: ``.<stem>.tmp-*`` files.

    Call it only on folders whose writers have all stopped (two
    conversions writing into one folder at once are not supported).

    Args:
        folder (str | Path): Folder to clean; a missing one is fine.
        stem (str): Glob for the stem of the final file, e.g. the
            pickle's stem to clean only that pickle's temporaries.
            Defaults to ``'*'``.

    Returns:
        int: How many files were removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    count = 0
    for tmp in folder.glob(f'.{stem}{TMP_MARK}*'):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            count += 1
    return count
