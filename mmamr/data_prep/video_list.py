# Copyright (c) mmamr contributors. All rights reserved.
"""Which videos of a folder to convert, with their labels and splits.

Either every video under the folder (no labels; one split, ``all``), or
the videos of mmaction2 video lists (``VideoDataset``'s annotation
format: one ``<path relative to the folder> [<label>]`` per line), one
list per split, e.g. UCF101's ``trainlist01`` / ``testlist01`` converted
by mmaction2's ``tools/data/build_file_list.py``.
"""
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple, Union

VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.mov', '.webm', '.m4v', '.mpg',
                    '.mpeg')
ALL_SPLIT = 'all'
_UNSAFE = re.compile(r'[^A-Za-z0-9_.-]+')


@dataclass(frozen=True)
class VideoItem:
    """One video to convert.

    Attributes:
        path (str): Relative to the video folder, ``/``-separated; becomes
            the annotation's ``video``.
        label (int, optional): Class index, when a list gives it.
        splits (tuple[str, ...]): Splits it belongs to.
    """

    path: str
    label: Optional[int]
    splits: Tuple[str, ...]

    @property
    def frame_dir(self) -> str:
        """The sample's name: its path without the extension."""
        return str(Path(self.path).with_suffix('').as_posix())

    @property
    def key(self) -> str:
        """A unique, file-name-safe job key (the name, sanitised, plus a
        hash of the path so that sanitised names cannot collide)."""
        digest = hashlib.sha1(self.path.encode()).hexdigest()[:8]
        name = _UNSAFE.sub('_', self.frame_dir).strip('._-')[-80:]
        return f'{name or "video"}-{digest}'


def find_videos(video_dir: Union[str, Path]) -> List[str]:
    """Every video file under ``video_dir`` (recursively, by extension),
    relative, sorted."""
    root = Path(video_dir)
    if not root.is_dir():
        raise ValueError(f'{video_dir}: video folder not found')
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob('*')
        if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())


def read_video_list(path: Union[str, Path]) -> List[Tuple[str, Optional[int]]]:
    """``(video, label or None)`` per line of an mmaction2 video list.

    Raises:
        ValueError: A line with more than two fields, a non-integer or
            negative label, or a video listed twice (file and line named).
    """
    items, seen = [], {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) > 2 or (len(fields) == 2
                                   and not fields[1].isdigit()):
                raise ValueError(
                    f'{path}:{number}: expected "<video> [<label>]" with a '
                    f'non-negative integer label, got {line.strip()!r}')
            video = Path(fields[0]).as_posix()
            if video in seen:
                raise ValueError(f'{path}:{number}: {video} already listed '
                                 f'on line {seen[video]}')
            seen[video] = number
            items.append((video, int(fields[1]) if len(fields) == 2 else None))
    return items


def collect_videos(
    video_dir: Union[str, Path],
    split_lists: Optional[Mapping[str, Union[str, Path]]] = None
) -> List[VideoItem]:
    """The videos to convert, in a stable order.

    Args:
        video_dir (str | Path): Folder of the videos.
        split_lists (dict, optional): ``split name -> video list``; without
            it every video of ``video_dir`` is taken, unlabelled, in the
            split ``all``. Defaults to None.

    Returns:
        list[VideoItem]: Sorted by path.

    Raises:
        ValueError: Two lists give one video different labels (a listed
            video that is missing fails later, in its own job).
    """
    if not split_lists:
        return [
            VideoItem(path, None, (ALL_SPLIT, ))
            for path in find_videos(video_dir)
        ]
    labels: Dict[str, Optional[int]] = {}
    splits: Dict[str, List[str]] = {}
    for name, list_file in split_lists.items():
        for video, label in read_video_list(list_file):
            if video in labels and labels[video] != label:
                raise ValueError(
                    f'{list_file}: {video} has label {label}, another list '
                    f'gives it {labels[video]}')
            labels[video] = label
            splits.setdefault(video, []).append(name)
    return [
        VideoItem(video, labels[video], tuple(splits[video]))
        for video in sorted(labels)
    ]
