# Copyright (c) mmamr contributors. All rights reserved.
"""iMiGUE's labels CSV: clips of the long videos, classes, subjects.

``labels_20200831.csv`` has one row per micro-gesture clip::

    video_id,label_id,start_time,start_frame,end_time,end_frame,class,
    subject_id,subject_gender,subject_nationality,win_or_lose

``start_frame`` / ``end_frame`` (inclusive) count from the start of the
long video at 25 fps (``start_time * 25``, rounded down); ``label_id``
numbers the clips of a video. Classes are 1-31 and 99 ("irrelevant
movement"), 32 classes, mapped to labels 0-30 and 31. Cross-subject
protocol: 37 training subjects (:data:`TRAIN_SUBJECTS`), the other 35 for
testing, i.e. 13,935 / 4,563 of the 18,498 clips.
"""
import csv
from dataclasses import dataclass
from typing import List, Optional, Tuple

COLUMNS = ('video_id', 'label_id', 'start_time', 'start_frame', 'end_time',
           'end_frame', 'class', 'subject_id', 'subject_gender',
           'subject_nationality', 'win_or_lose')
FPS = 25
NUM_CLASSES = 32
OTHER_CLASS = 99  # "irrelevant" movements, the last label
TRAIN_SUBJECTS = frozenset(
    (2, 4, 5, 6, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 22, 23, 25, 28, 29, 30,
     31, 35, 36, 38, 39, 41, 42, 43, 44, 46, 47, 48, 52, 53, 59, 61, 62))
SPLITS = ('xsub_train', 'xsub_test')


def subject_split(subject_id: int) -> str:
    """``'xsub_train'`` or ``'xsub_test'``: the cross-subject protocol."""
    return 'xsub_train' if subject_id in TRAIN_SUBJECTS else 'xsub_test'


def class_to_label(class_id: int) -> int:
    """iMiGUE class (1-31, 99) -> label (0-31)."""
    if 1 <= class_id <= NUM_CLASSES - 1:
        return class_id - 1
    if class_id == OTHER_CLASS:
        return NUM_CLASSES - 1
    raise ValueError(f'class {class_id} is not an iMiGUE class (1-31, 99)')


@dataclass(frozen=True)
class Clip:
    """One labelled clip of a long video.

    Attributes:
        video_id (int): The long video.
        label_id (int): The clip's number within its video.
        start (int): First frame, 0-based, in the long video.
        end (int): Last frame (inclusive).
        class_id (int): iMiGUE class, 1-31 or 99.
        subject_id (int): The person.
        line (int): Line of the CSV, for messages.
    """

    video_id: int
    label_id: int
    start: int
    end: int
    class_id: int
    subject_id: int
    line: int

    @property
    def name(self) -> str:
        """``<video:04d>_<clip:04d>``, the sample's ``frame_dir``."""
        return f'{self.video_id:04d}_{self.label_id:04d}'

    @property
    def label(self) -> int:
        return class_to_label(self.class_id)

    @property
    def num_frames(self) -> int:
        return self.end - self.start + 1

    @property
    def split(self) -> str:
        """``'xsub_train'`` or ``'xsub_test'``."""
        return subject_split(self.subject_id)


def _parse_row(row: dict, line: int) -> Clip:
    values = {}
    for key in ('video_id', 'label_id', 'start_frame', 'end_frame', 'class',
                'subject_id'):
        try:
            values[key] = int(row[key])
        except (TypeError, ValueError):
            raise ValueError(f'{key} must be an integer, got '
                             f'{row[key]!r}') from None
    clip = Clip(values['video_id'], values['label_id'], values['start_frame'],
                values['end_frame'], values['class'], values['subject_id'],
                line)
    class_to_label(clip.class_id)  # unknown classes raise here
    if clip.start < 0:
        raise ValueError(f'start_frame {clip.start} is negative')
    if clip.end < clip.start:
        raise ValueError(f'end_frame {clip.end} precedes start_frame '
                         f'{clip.start}')
    return clip


def read_labels(path: str,
                skipped: Optional[List[Tuple[str, str]]] = None) -> List[Clip]:
    """Read and check the labels CSV.

    Args:
        path (str): The CSV.
        skipped (list, optional): If given, rows with bad values (not an
            integer, unknown class, end before start, a clip listed twice)
            are left out and appended here as ``(clip or line, reason)``;
            if ``None`` they raise. A wrong header always raises.

    Returns:
        list[Clip]: The clips, in file order.

    Raises:
        ValueError: Naming the file and line, and what is wrong.
    """
    clips: List[Clip] = []
    seen = set()
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f'{path}: line 1: expected the columns '
                             f'{",".join(COLUMNS)}, got {reader.fieldnames}')
        for row in reader:
            line = reader.line_num
            try:
                clip = _parse_row(row, line)
                key = (clip.video_id, clip.label_id)
                if key in seen:
                    raise ValueError(f'clip {clip.name} is listed twice')
            except ValueError as e:
                message = f'{path}: line {line}: {e}'
                if skipped is None:
                    raise ValueError(message) from None
                name = (f'{row["video_id"]}_{row["label_id"]}'
                        if row.get('label_id') else f'line {line}')
                skipped.append((name, message))
                continue
            seen.add(key)
            clips.append(clip)
    return clips
