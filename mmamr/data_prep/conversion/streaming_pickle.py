# Copyright (c) mmamr contributors. All rights reserved.
"""Write mmaction2's annotation pickle without holding the annotations.

``pickle.dump(dict(split=..., annotations=[...]))`` needs the whole list
in memory (about 6 GB for NTU RGB+D 60) and its pickler memo would keep
every annotation alive even if the list were lazy. Here the outer dict and
list are written as raw pickle opcodes and every annotation is pickled on
its own and spliced in, so memory holds one annotation at a time. The file
is an ordinary pickle: ``pickle.load`` / ``mmengine.load`` read it.

Why splicing is valid: protocol 3 memoizes with explicit indices
(``BINPUT i`` / ``BINGET i``), each spliced annotation only refers to the
indices it stored itself, and a later ``BINPUT i`` just overwrites an entry
that nothing reads any more. (Protocols 4 and 5 number the memo implicitly,
by its length, so their pieces cannot be spliced.)
"""
import pickle
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Union

from mmamr.common.atomic_io import atomic_output

PROTOCOL = 3
BATCH = 1000  # items per APPENDS, as pickle itself batches lists
_HEADER = pickle.PROTO + bytes([PROTOCOL])


def _body(obj) -> bytes:
    """``obj`` pickled with :data:`PROTOCOL`, without header and STOP."""
    data = pickle.dumps(obj, protocol=PROTOCOL)
    assert data[:2] == _HEADER and data[-1:] == pickle.STOP
    return data[2:-1]


def dump_annotation_pickle(
    path: Union[str, Path],
    annotations: Iterable[dict],
    split_of: Optional[Callable[[dict], Iterable[str]]] = None,
    split_names: Iterable[str] = ()
) -> Dict[str, List[str]]:
    """Stream ``annotations`` into ``path`` (atomically), with their split.

    The file holds ``{'annotations': [...], 'split': {name: [frame_dir,
    ...]}}``; the split comes last because it is collected while the
    annotations stream past.

    Args:
        path (str | Path): Pickle to write.
        annotations (Iterable[dict]): Annotations, consumed once, lazily.
        split_of (callable, optional): ``annotation -> split names`` it
            belongs to; ``None`` writes an empty split. Defaults to None.
        split_names (Iterable[str]): Splits to create even if empty, in
            this order. Defaults to ``()``.

    Returns:
        dict: The split written.
    """
    split: Dict[str, List[str]] = {name: [] for name in split_names}
    with atomic_output(path) as tmp, open(tmp, 'wb', 1 << 20) as f:
        f.write(_HEADER + pickle.EMPTY_DICT)
        f.write(_body('annotations') + pickle.EMPTY_LIST)
        in_batch = 0  # items written since the last MARK
        for ann in annotations:
            if in_batch == 0:
                f.write(pickle.MARK)
            f.write(_body(ann))
            in_batch += 1
            if in_batch == BATCH:
                f.write(pickle.APPENDS)
                in_batch = 0
            if split_of is not None:
                for name in split_of(ann):
                    split.setdefault(name, []).append(ann['frame_dir'])
        if in_batch:
            f.write(pickle.APPENDS)
        f.write(pickle.SETITEM)
        f.write(_body('split') + _body(split) + pickle.SETITEM)
        f.write(pickle.STOP)
    return split
