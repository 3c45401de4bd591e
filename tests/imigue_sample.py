# Copyright (c) mmamr contributors. All rights reserved.
"""iMiGUE test data built around the real sample: clip 1 of video 298
(labels CSV row and its 90 OpenPose JSON frames) plus a generated long
video, since the real one is not in the sample data.

The generated video writes each frame's index in binary as nine black or
white vertical stripes, so a test can read back exactly which frames of
the long video a clip holds.

A test module declares the fixtures it needs (a ``conftest.py`` here would
clash with ``tests/test_tools/conftest.py``, which its tests import)::

    imigue_video = pytest.fixture(scope='module', name='imigue_video')(
        imigue_sample.long_video)
    imigue_raw = pytest.fixture(name='imigue_raw')(imigue_sample.raw_layout)
"""
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import sample_data

IMIGUE = sample_data.IMIGUE_DIR
CSV = IMIGUE / 'labels_20200831.csv'
POSE = IMIGUE / 'openpose_298'
# A made-up second clip of video 298 overlapping the real clip 1, as 4,575
# clips of the real CSV overlap another.
OVERLAP_ROW = '298,2,8.0,200,9.24,230,8,22,M,United States,Win'
# The real keypoints reach x = 755, y = 716; OpenPose saw a larger frame.
LONG_SHAPE = (720, 768)
BITS = 9


def frame_code(index: int, shape=LONG_SHAPE) -> np.ndarray:
    """A BGR frame showing ``index`` as BITS stripes (MSB left)."""
    frame = np.zeros((*shape, 3), np.uint8)
    width = shape[1] // BITS
    for bit in range(BITS):
        if index >> (BITS - 1 - bit) & 1:
            frame[:, bit * width:(bit + 1) * width] = 255
    return frame


def read_code(frame: np.ndarray) -> int:
    """Inverse of :func:`frame_code` on a decoded (and resized) frame."""
    height, width = frame.shape[:2]
    stripe = width * (LONG_SHAPE[1] // BITS) / LONG_SHAPE[1]
    value = 0
    for bit in range(BITS):
        centre = int((bit + 0.5) * stripe)
        value = value * 2 + int(frame[height // 2, centre].mean() > 127)
    return value


def write_long_video(path: Path,
                     num_frames: int,
                     fps: float = 25,
                     shape=LONG_SHAPE) -> Path:
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'mp4v'), fps, shape[::-1])
    for index in range(num_frames):
        writer.write(frame_code(index, shape))
    writer.release()
    return path


def needs_imigue_sample():
    if not (CSV.is_file() and POSE.is_dir()):
        pytest.fail(f'iMiGUE sample not found in {IMIGUE}')


def long_video(tmp_path_factory) -> Path:
    """A 260-frame, 25 fps long video 298 (the clips end at frame 257)."""
    needs_imigue_sample()
    folder = tmp_path_factory.mktemp('imigue_videos')
    return write_long_video(folder / '298.mp4', 260)


def raw_layout(tmp_path, imigue_video) -> dict:
    """A raw iMiGUE layout in ``tmp_path`` (files may be edited)."""
    pose = tmp_path / 'openpose'
    pose.mkdir()
    (pose / '298').symlink_to(POSE)
    videos = tmp_path / 'videos'
    videos.mkdir()
    (videos / '298.mp4').symlink_to(imigue_video)
    lines = CSV.read_text().splitlines()
    clip_row = next(line for line in lines if line.startswith('298,1,'))
    labels = tmp_path / 'labels.csv'
    labels.write_text(f'{lines[0]}\n{clip_row}\n{OVERLAP_ROW}\n')
    return dict(
        labels=labels,
        pose=pose,
        videos=videos,
        out=tmp_path / 'out' / 'imigue.pkl',
        clips=tmp_path / 'out' / 'clips')


def own_pose_copy(raw: dict) -> Path:
    """Replace the symlinked JSON folder by a writable copy."""
    folder = raw['pose'] / '298'
    folder.unlink()
    shutil.copytree(POSE, folder)
    return folder
