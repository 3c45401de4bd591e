# Copyright (c) mmamr contributors. All rights reserved.
"""Reader for NTU RGB+D ``.skeleton`` text files (Kinect v2 output).

Layout (CRLF lines; DESIGN.md §5)::

    <number of frames>
    per frame:   <number of bodies>
      per body:  bodyID clipedEdges handLeftConfidence handLeftState
                 handRightConfidence handRightState isRestricted
                 leanX leanY trackingState                   (10 fields)
                 25                                          (joint count)
                 25 x: x y z depthX depthY colorX colorY
                       orientationW orientationX orientationY
                       orientationZ trackingState            (12 fields)

``bodyID`` is a uint64 (e.g. ``72057594037931101``); it is parsed as an
``int`` because as a float64 distinct IDs collide.

:func:`read_skeleton_file` returns every body as its own track;
:func:`to_keypoint_arrays` reduces them to mmaction2's fixed-size
``(M, T, V, C)`` arrays.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union

import numpy as np

NUM_JOINTS = 25
BODY_INFO_FIELDS = 10
JOINT_FIELDS = 12
# Joint line columns: x y z | depthX depthY | colorX colorY | orientation
# wxyz | trackingState.
_XYZ = slice(0, 3)
_COLOR = slice(5, 7)
_TRACKING = 11


@dataclass
class BodyTrack:
    """One Kinect body over the frames in which it appears.

    Attributes:
        body_id (int): Kinect tracking ID (uint64).
        frames (np.ndarray): Frame indices, ``(T_b,)`` int64, increasing.
        xyz (np.ndarray): Camera-space joints in metres, ``(T_b, 25, 3)``.
        color_xy (np.ndarray): Joints in colour-frame pixels,
            ``(T_b, 25, 2)``.
        tracking (np.ndarray): Joint tracking state 0 (not tracked),
            1 (inferred) or 2 (tracked), ``(T_b, 25)`` uint8.
    """

    body_id: int
    frames: np.ndarray
    xyz: np.ndarray
    color_xy: np.ndarray
    tracking: np.ndarray

    @property
    def energy(self) -> float:
        """Activity, as 2s-AGCN and mmaction2 rank NTU bodies.

        Their ``get_nonzero_std``: over the frames where the body's
        coordinates are not all zero, the standard deviation of x pooled
        over frames and joints, plus that of y, plus that of z (0 without
        such frames). Pooling joints with frames makes a body's extent
        count as well as its motion, so a real person outranks Kinect's
        small spurious bodies even while standing still.
        """
        xyz = self.xyz.astype(np.float64)
        xyz = xyz[xyz.sum(axis=(1, 2)) != 0]
        if not len(xyz):
            return 0.0
        return float(xyz.reshape(-1, 3).std(axis=0).sum())


@dataclass
class SkeletonFile:
    """Contents of one ``.skeleton`` file.

    Attributes:
        path (str): The file read.
        num_frames (int): Frame count from the header line.
        bodies (dict): ``body_id -> BodyTrack``, in order of first
            appearance.
    """

    path: str
    num_frames: int
    bodies: Dict[int, BodyTrack]


class _Lines:
    """Line cursor that turns every format problem into a ValueError."""

    def __init__(self, path: str, lines: List[str]) -> None:
        self.path = path
        self.lines = lines
        self.pos = 0  # index of the next line; its number is pos + 1

    def error(self, lineno: int, msg: str) -> ValueError:
        return ValueError(f'{self.path}: line {lineno}: {msg}')

    def next(self, expected: str) -> List[str]:
        """Return the fields of the next line, or fail naming ``expected``.
        """
        if self.pos >= len(self.lines):
            raise self.error(
                self.pos + 1,
                f'file ends early (truncated?); expected {expected}')
        fields = self.lines[self.pos].split()
        self.pos += 1
        return fields

    def next_int(self, expected: str) -> int:
        fields = self.next(expected)
        if len(fields) != 1:
            raise self.error(
                self.pos, f'expected {expected} (one integer), got '
                f'{len(fields)} fields')
        try:
            value = int(fields[0])
        except ValueError:
            raise self.error(
                self.pos, f'expected {expected} (an integer), '
                f'got {fields[0]!r}') from None
        if value < 0:
            raise self.error(self.pos,
                             f'expected {expected} >= 0, got {value}')
        return value


def _parse_body_info(cur: _Lines) -> int:
    """Parse a 10-field body info line and return its bodyID."""
    fields = cur.next('a body info line (10 fields)')
    if len(fields) != BODY_INFO_FIELDS:
        raise cur.error(
            cur.pos, f'expected a body info line of {BODY_INFO_FIELDS} '
            f'fields, got {len(fields)}')
    try:
        body_id = int(fields[0])  # never float: uint64 IDs collide
    except ValueError:
        raise cur.error(cur.pos, f'expected an integer bodyID, got '
                        f'{fields[0]!r}') from None
    if not 0 <= body_id < 2**64:
        raise cur.error(cur.pos, f'bodyID {body_id} is not a uint64')
    for field in fields[1:]:
        try:
            float(field)
        except ValueError:
            raise cur.error(
                cur.pos, f'expected numeric body info fields, got '
                f'{field!r}') from None
    return body_id


def _parse_joints(cur: _Lines) -> np.ndarray:
    """Parse the joint-count line and 25 joint lines -> ``(25, 12)``."""
    count = cur.next_int('the joint count 25')
    if count != NUM_JOINTS:
        raise cur.error(cur.pos,
                        f'expected joint count {NUM_JOINTS}, got {count}')
    first = cur.pos + 1
    rows = []
    for _ in range(NUM_JOINTS):
        fields = cur.next(f'a joint line ({JOINT_FIELDS} fields)')
        if len(fields) != JOINT_FIELDS:
            raise cur.error(
                cur.pos, f'expected a joint line of {JOINT_FIELDS} '
                f'fields, got {len(fields)}')
        rows.append(fields)
    try:
        joints = np.array(rows, dtype=np.float64)
    except ValueError:
        joints = None
    # Locate the offending line only on failure: the fast path above
    # converts the whole block at once.
    if joints is None or not np.isfinite(joints).all():
        for i, fields in enumerate(rows):
            for field in fields:
                try:
                    ok = np.isfinite(float(field))
                except ValueError:
                    ok = False
                if not ok:
                    raise cur.error(
                        first + i, f'expected {JOINT_FIELDS} finite '
                        f'numbers, got {field!r}')
    states = joints[:, _TRACKING]
    bad = np.flatnonzero(~np.isin(states, (0, 1, 2)))
    if bad.size:
        raise cur.error(
            first + int(bad[0]), 'expected joint trackingState 0, 1 or '
            f'2, got {states[bad[0]]:g}')
    return joints


def read_skeleton_file(path: Union[str, Path]) -> SkeletonFile:
    """Parse an NTU RGB+D ``.skeleton`` file.

    Args:
        path (str | Path): The file.

    Returns:
        SkeletonFile: Header frame count and one :class:`BodyTrack` per
        bodyID.

    Raises:
        ValueError: On any malformed content (truncation, wrong field or
            joint count, non-numeric field, trailing content, a bodyID
            repeated within a frame); the message names the file, the
            line number and what was expected there.
    """
    path = str(path)
    try:
        text = Path(path).read_bytes().decode('ascii')
    except UnicodeDecodeError as e:
        raise ValueError(f'{path}: not an ASCII skeleton file ({e})') from None
    # splitlines() would also split on form feeds etc.; the format only
    # knows CRLF (LF tolerated).
    lines = text.split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    cur = _Lines(path, lines)
    num_frames = cur.next_int('the frame count')
    per_body: Dict[int, list] = {}
    for t in range(num_frames):
        num_bodies = cur.next_int(f'the body count of frame {t}')
        seen = set()
        for _ in range(num_bodies):
            body_id = _parse_body_info(cur)
            if body_id in seen:
                raise cur.error(
                    cur.pos, f'expected distinct bodyIDs in frame {t}, '
                    f'got {body_id} twice')
            seen.add(body_id)
            per_body.setdefault(body_id, []).append((t, _parse_joints(cur)))
    while cur.pos < len(lines):
        extra = lines[cur.pos].strip()
        if extra:
            raise cur.error(
                cur.pos + 1, f'expected end of file after the {num_frames} '
                f'frames declared on line 1, got {extra[:60]!r}')
        cur.pos += 1
    bodies = {}
    for body_id, entries in per_body.items():
        joints = np.stack([j for _, j in entries])
        bodies[body_id] = BodyTrack(
            body_id=body_id,
            frames=np.array([t for t, _ in entries], dtype=np.int64),
            xyz=joints[:, :, _XYZ].astype(np.float32),
            color_xy=joints[:, :, _COLOR].astype(np.float32),
            tracking=joints[:, :, _TRACKING].astype(np.uint8))
    return SkeletonFile(path=path, num_frames=num_frames, bodies=bodies)


def to_keypoint_arrays(skeleton: SkeletonFile,
                       max_bodies: int = 2) -> Dict[str, np.ndarray]:
    """Reduce a parsed file to mmaction2's fixed-size skeleton arrays.

    The ``max_bodies`` most active bodies are kept, most active first,
    ranked by :attr:`BodyTrack.energy`: ``std(x) + std(y) + std(z)``, each
    pooled over the body's non-zero frames and its joints, as 2s-AGCN's
    ``data_gen/ntu_gendata.py`` (``get_nonzero_std``) and mmaction2's
    ``tools/data/skeleton/gen_ntu_rgbd_raw.py`` do, so that the two
    bodies kept match theirs (they number bodies by their position in
    each frame; here a body is one bodyID). The same rule serves one- and
    two-person actions, since Kinect often reports spurious extra bodies.
    Equal energies keep the order of first appearance. Slots of bodies
    absent in a frame, and frames without bodies, are zeros.

    Args:
        skeleton (SkeletonFile): Output of :func:`read_skeleton_file`.
        max_bodies (int): ``M``, the number of body slots. Defaults to 2.

    Returns:
        dict: ``keypoint`` ``(M, T, 25, 3)`` float32 in metres,
        ``keypoint_2d`` ``(M, T, 25, 2)`` float32 in colour-frame pixels,
        ``keypoint_score`` ``(M, T, 25)`` float32 (1 where the body is
        present in that frame, else 0) and ``body_ids`` (list of the kept
        bodyIDs, slot order).
    """
    if max_bodies < 1:
        raise ValueError(f'max_bodies must be at least 1, got {max_bodies}')
    T = skeleton.num_frames
    keypoint = np.zeros((max_bodies, T, NUM_JOINTS, 3), np.float32)
    keypoint_2d = np.zeros((max_bodies, T, NUM_JOINTS, 2), np.float32)
    score = np.zeros((max_bodies, T, NUM_JOINTS), np.float32)
    # sorted() is stable: equally active bodies keep first-appearance order.
    ranked = sorted(skeleton.bodies.values(), key=lambda b: -b.energy)
    kept = ranked[:max_bodies]
    for m, body in enumerate(kept):
        keypoint[m, body.frames] = body.xyz
        keypoint_2d[m, body.frames] = body.color_xy
        score[m, body.frames] = 1
    return dict(
        keypoint=keypoint,
        keypoint_2d=keypoint_2d,
        keypoint_score=score,
        body_ids=[b.body_id for b in kept])
