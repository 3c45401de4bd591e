# Copyright (c) mmamr contributors. All rights reserved.
"""Video probing and re-encoding with OpenCV (no ffmpeg binary needed).

Converters shrink videos (NTU's 1920 x 1080, iMiGUE's long videos cut into
clips) as mmaction2's ``tools/data/resize_videos.py`` does with ffmpeg
``scale=-2:<short side>``: the short side becomes ``short_side``, the long
one keeps the aspect ratio rounded to an even number of pixels. 2-D
keypoints in pixels must then be scaled by :func:`scale_factor`.
"""
import contextlib
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from mmamr.common.atomic_io import atomic_output

Shape = Tuple[int, int]  # (height, width)
# Codecs OpenCV's bundled FFmpeg writes and decord reads back frame-exact.
FOURCC = {'.mp4': 'mp4v', '.avi': 'MJPG'}


def single_threaded_cv2() -> None:
    """Pool initializer: one OpenCV thread per worker process (the
    workers already use every core; more threads only contend)."""
    cv2.setNumThreads(1)


def read_video_info(path: str) -> Tuple[int, int, int]:
    """Return ``(num_frames, height, width)`` of a video file."""
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise ValueError(f'{path}: cannot open video')
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    finally:
        cap.release()
    if count <= 0 or height <= 0 or width <= 0:
        # Some containers carry no frame count in the header; decord
        # indexes the stream instead.
        import decord
        reader = decord.VideoReader(path)
        count = len(reader)
        height, width = reader[0].shape[:2]
    return count, height, width


def count_stored_frames(path: str, limit: int) -> int:
    """Frames the file really holds, counted up to ``limit``.

    The header's count (:func:`read_video_info`) is written first, so a
    file cut short (a copy or download interrupted mid-write) still
    promises every frame. This reads the compressed frames themselves
    without decoding them (OpenCV's raw stream mode): on the real NTU
    sample it costs about as much as opening the file (12-19 ms for 103
    frames of 1080p), whereas seeking to the last frame decodes every
    frame from the previous keyframe, here the first (0.6 s). On cut
    copies of that sample it gave the count a full decode gives.

    Args:
        path (str): The video.
        limit (int): Stop counting there (the frames actually needed).

    Returns:
        int: ``min(stored frames, limit)``.
    """
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise ValueError(f'{path}: cannot open video')
        # Without raw mode (a backend other than FFmpeg) grab() decodes:
        # slower, equally exact.
        cap.set(cv2.CAP_PROP_FORMAT, -1)
        count = 0
        while count < limit and cap.grab():
            count += 1
    finally:
        cap.release()
    return count


def resized_shape(shape: Shape, short_side: Optional[int]) -> Shape:
    """``(h, w)`` after scaling the short side of ``shape`` to
    ``short_side`` (both even, as ffmpeg's ``scale=-2``); ``None`` keeps
    the shape."""
    if short_side is None:
        return tuple(shape)
    if short_side < 2:
        raise ValueError(f'short_side must be >= 2, got {short_side}')
    height, width = shape
    scale = short_side / min(height, width)
    return (max(2, 2 * round(height * scale / 2)),
            max(2, 2 * round(width * scale / 2)))


def scale_factor(old: Shape, new: Shape) -> np.ndarray:
    """``[sx, sy]`` mapping pixel ``(x, y)`` of an ``old`` frame to a
    ``new`` one (as mmaction2's ``Resize`` scales keypoints)."""
    return np.array([new[1] / old[1], new[0] / old[0]], np.float32)


def resize_frame(frame: np.ndarray, shape: Shape) -> np.ndarray:
    """Resize a ``H x W x 3`` frame to ``shape`` (area averaging when
    shrinking, which avoids aliasing)."""
    if frame.shape[:2] == tuple(shape):
        return frame
    shrink = shape[0] < frame.shape[0]
    return cv2.resize(
        frame, (shape[1], shape[0]),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class VideoSink:
    """Write frames to ``path`` atomically, checking none was dropped.

    The file appears only at :meth:`commit`, after the written video has
    been read back with the expected frame count; :meth:`abort` (or any
    error) leaves no file. Several sinks can be open at once, e.g. for
    overlapping clips cut from one pass over a long video.

    Args:
        path (str | Path): Output ``.mp4`` (MPEG-4 part 2) or ``.avi``
            (MJPG).
        fps (float): Frame rate to store.
        shape (tuple[int, int]): ``(height, width)`` of the frames to
            write; others are resized to it.
    """

    def __init__(self, path, fps: float, shape: Shape) -> None:
        self.path = str(path)
        fourcc = FOURCC.get(Path(path).suffix.lower())
        if fourcc is None:
            raise ValueError(f'{path}: unsupported video extension; use one '
                             f'of {sorted(FOURCC)}')
        self.shape = tuple(shape)
        self.count = 0
        self._atomic = atomic_output(path)
        self._tmp = self._atomic.__enter__()
        self._writer = cv2.VideoWriter(self._tmp,
                                       cv2.VideoWriter_fourcc(*fourcc), fps,
                                       (self.shape[1], self.shape[0]))
        if not self._writer.isOpened():
            self.abort()
            raise ValueError(f'{path}: OpenCV cannot write {fourcc} videos '
                             '(its FFmpeg backend is missing?)')

    def write(self, frame: np.ndarray) -> None:
        """Append one BGR ``H x W x 3`` uint8 frame."""
        self._writer.write(resize_frame(frame, self.shape))
        self.count += 1

    def commit(self) -> None:
        """Finish the file and move it into place."""
        self._writer.release()
        try:
            written = read_video_info(self._tmp)[0]
            if written != self.count:
                raise RuntimeError(f'{self.path}: wrote {self.count} frames '
                                   f'but the file holds {written}')
        except BaseException as e:
            self._atomic.__exit__(type(e), e, e.__traceback__)
            raise
        self._atomic.__exit__(None, None, None)

    def abort(self) -> None:
        """Drop the file."""
        self._writer.release()
        # atomic_output deletes its temporary when an exception reaches it
        # (and lets that exception through, hence the suppress).
        with contextlib.suppress(RuntimeError):
            self._atomic.__exit__(RuntimeError, RuntimeError('aborted'), None)


def resize_video(src: str, dst: str,
                 short_side: Optional[int]) -> Tuple[int, Shape, Shape]:
    """Re-encode ``src`` to ``dst`` with the short side ``short_side``.

    Frames are read in order with OpenCV, as Kinect and OpenPose number
    them, and all of them are written.

    Returns:
        tuple: ``(num_frames, new_shape, old_shape)``, shapes ``(h, w)``.

    Raises:
        ValueError: ``src`` cannot be read or has no frames.
    """
    cap = cv2.VideoCapture(src)
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise ValueError(f'{src}: cannot read a frame from this video')
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        old = frame.shape[:2]
        new = resized_shape(old, short_side)
        sink = VideoSink(dst, fps, new)
        try:
            while ok:
                sink.write(frame)
                ok, frame = cap.read()
        except BaseException:
            sink.abort()
            raise
        sink.commit()
    finally:
        cap.release()
    return sink.count, new, old
