# Copyright (c) mmamr contributors. All rights reserved.
"""Reader for OpenPose's per-frame JSON output (BODY_25 skeletons).

OpenPose run with ``--write_json`` writes one file per video frame,
``<video>_<frame:012d>_keypoints.json``, frames numbered from 0 in decoding
order::

    {"version": 1.3,
     "people": [{"person_id": [-1],
                 "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...],
                 "face_keypoints_2d": [...], ...}, ...]}

``pose_keypoints_2d`` holds the 25 BODY_25 joints as ``(x, y,
confidence)`` in pixels of the video frame, confidences in [0, 1]; an
undetected joint is ``0, 0, 0``. ``people`` is empty when nobody is
detected.
"""
import json
import re
from pathlib import Path
from typing import Dict, Union

import numpy as np

BODY_25_JOINTS = 25
FRAME_FILE = re.compile(r'(.+)_(\d{12})_keypoints\.json')
VALUE_NAMES = ('x', 'y', 'confidence')


def frame_files(folder: Union[str, Path]) -> Dict[int, Path]:
    """Map frame index -> JSON file for the OpenPose output of one video.

    Raises:
        ValueError: The folder is missing, or two files claim one frame
            (outputs of two videos mixed in one folder).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f'{folder}: OpenPose output folder not found')
    files: Dict[int, Path] = {}
    for path in folder.iterdir():
        match = FRAME_FILE.fullmatch(path.name)
        if match is None:
            continue
        frame = int(match.group(2))
        if frame in files:
            raise ValueError(f'{folder}: frame {frame} appears twice '
                             f'({files[frame].name}, {path.name}); one '
                             'folder must hold the frames of one video')
        files[frame] = path
    return files


def read_openpose_frame(path: Union[str, Path],
                        num_joints: int = BODY_25_JOINTS) -> np.ndarray:
    """Read the people of one frame.

    Args:
        path (str | Path): A ``*_keypoints.json`` file.
        num_joints (int): Joints per person. Defaults to 25 (BODY_25).

    Returns:
        np.ndarray: ``(P, num_joints, 3)`` float32 ``(x, y, confidence)``,
        ``P`` = detected people (0 for an empty frame).

    Raises:
        ValueError: Not JSON, no ``people`` list, a person without
            ``pose_keypoints_2d`` or with other than ``3 * num_joints``
            numbers, a non-finite value or a confidence outside [0, 1];
            the message names the file (and the person and joint).
    """
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f'{path}: cannot read OpenPose JSON ({e})') from None
    people = data.get('people') if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise ValueError(f'{path}: expected an object with a "people" list')
    poses = []
    for i, person in enumerate(people):
        values = person.get('pose_keypoints_2d') if isinstance(person,
                                                               dict) else None
        if not isinstance(values, list) or len(values) != 3 * num_joints:
            got = len(values) if isinstance(values, list) else 'no'
            raise ValueError(
                f'{path}: person {i} has {got} pose_keypoints_2d values, '
                f'expected {3 * num_joints} ({num_joints} joints x (x, y, '
                'confidence); is this BODY_25 output?)')
        try:
            pose = np.array(values, dtype=np.float32)
        except (TypeError, ValueError):
            raise ValueError(f'{path}: person {i} has non-numeric '
                             'pose_keypoints_2d') from None
        pose = pose.reshape(num_joints, 3)
        _check_values(pose, path, i)
        poses.append(pose)
    if not poses:
        return np.zeros((0, num_joints, 3), np.float32)
    return np.stack(poses)


def _check_values(pose: np.ndarray, path: Union[str, Path],
                  person: int) -> None:
    """Refuse NaN or infinite values and confidences outside [0, 1].

    OpenPose writes probabilities (the 90 real iMiGUE frames in the tests
    peak at 0.94); anything else is a hand-edited or foreign file whose
    confidences would skew person ranking and the model's input, so it is
    refused rather than clipped.
    """
    bad = np.argwhere(~np.isfinite(pose))
    if len(bad):
        joint, k = bad[0]
        raise ValueError(f'{path}: person {person} joint {joint} has a '
                         f'non-finite {VALUE_NAMES[k]} ({pose[joint, k]})')
    bad = np.flatnonzero((pose[:, 2] < 0) | (pose[:, 2] > 1))
    if len(bad):
        joint = bad[0]
        raise ValueError(f'{path}: person {person} joint {joint} has '
                         f'confidence {pose[joint, 2]:g}, outside [0, 1] '
                         '(is this OpenPose output?)')


def select_persons(people: np.ndarray, max_persons: int) -> np.ndarray:
    """Keep the ``max_persons`` most confident people of a frame.

    People are ranked by the sum of their joint confidences (a person
    seen whole and sharp outranks a partial, blurred one: in iMiGUE the
    interviewed player, in front of the camera, over people behind).
    Missing slots are zeros.

    Args:
        people (np.ndarray): ``(P, J, 3)`` from :func:`read_openpose_frame`.
        max_persons (int): ``M``.

    Returns:
        np.ndarray: ``(M, J, 3)``, most confident first.
    """
    out = np.zeros((max_persons, *people.shape[1:]), np.float32)
    # Stable sort: equally confident people keep OpenPose's order.
    order = np.argsort(-people[:, :, 2].sum(axis=1), kind='stable')
    kept = people[order[:max_persons]]
    out[:len(kept)] = kept
    return out
