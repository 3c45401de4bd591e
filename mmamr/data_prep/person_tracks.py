# Copyright (c) mmamr contributors. All rights reserved.
"""Link per-frame person detections into tracks and keep the best ``M``.

A top-down pose estimator sees every frame on its own: the people it finds
come in no particular order, so slot ``m`` of frame ``t`` is not the same
person as slot ``m`` of frame ``t + 1``. Here detections are linked across
frames by box overlap (optimal assignment on IoU between each track's last
box and the new boxes, as simple IoU trackers do), and the ``M`` tracks
with the largest summed confidence (the mean joint score of each frame,
summed over the frames the person is seen in: confident *and* persistent)
become the skeleton's persons, most confident first.
"""
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass
class FramePoses:
    """The people found in one frame.

    Attributes:
        bboxes (np.ndarray): ``(K, 4)`` float32 boxes ``x1, y1, x2, y2`` in
            pixels.
        keypoints (np.ndarray): ``(K, V, 2)`` float32 joint ``x, y`` in
            pixels.
        keypoint_scores (np.ndarray): ``(K, V)`` float32 joint confidences
            in [0, 1]; 0 means not detected (and the joint is ``(0, 0)``).
    """

    bboxes: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray

    def __len__(self) -> int:
        return len(self.bboxes)


@dataclass
class Track:
    """One person across frames: ``(frame, detection index)`` pairs."""

    frames: List[int] = field(default_factory=list)
    indices: List[int] = field(default_factory=list)
    last_box: np.ndarray = None
    score: float = 0.0


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box of ``a`` ``(P, 4)`` with every box of ``b``
    ``(Q, 4)``, both ``x1, y1, x2, y2``; returns ``(P, Q)``."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def link_tracks(frames: Sequence[FramePoses],
                iou_thr: float = 0.3,
                max_gap: int = 10) -> List[Track]:
    """Link detections of consecutive frames into tracks.

    Each frame's boxes are matched to the tracks seen in the last
    ``max_gap`` frames by maximum total IoU (Hungarian assignment); a pair
    below ``iou_thr`` is no match, and an unmatched box starts a track.

    Args:
        frames (Sequence[FramePoses]): Detections, one entry per frame.
        iou_thr (float): Least IoU between a track's last box and a box of
            the next frame for them to be the same person. Defaults to 0.3.
        max_gap (int): Frames a track may go unseen (occlusion, missed
            detection) and still continue. Defaults to 10.

    Returns:
        list[Track]: Tracks with their summed confidence in ``score``.
    """
    tracks: List[Track] = []
    for t, poses in enumerate(frames):
        if not len(poses):
            continue
        live = [
            k for k, tr in enumerate(tracks) if t - tr.frames[-1] <= max_gap
        ]
        matched = {}
        if live:
            iou = box_iou(
                np.stack([tracks[k].last_box for k in live]), poses.bboxes)
            rows, cols = linear_sum_assignment(-iou)
            matched = {
                c: live[r]
                for r, c in zip(rows, cols) if iou[r, c] >= iou_thr
            }
        for i in range(len(poses)):
            if i not in matched:
                tracks.append(Track())
                matched[i] = len(tracks) - 1
            track = tracks[matched[i]]
            track.frames.append(t)
            track.indices.append(i)
            track.last_box = poses.bboxes[i]
            track.score += float(poses.keypoint_scores[i].mean())
    return tracks


def select_persons(frames: Sequence[FramePoses],
                   max_persons: int = 2,
                   iou_thr: float = 0.3,
                   max_gap: int = 10) -> Tuple[np.ndarray, np.ndarray]:
    """Keep the ``M`` most confident, persistent people of a video.

    Args:
        frames (Sequence[FramePoses]): Detections of the ``T`` frames, all
            with the same joint count ``V``.
        max_persons (int): ``M``. Defaults to 2.
        iou_thr (float): See :func:`link_tracks`. Defaults to 0.3.
        max_gap (int): See :func:`link_tracks`. Defaults to 10.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``keypoint`` ``(M, T, V, 2)`` and
        ``keypoint_score`` ``(M, T, V)``, float32, the best track first;
        people absent from a frame (and missing tracks) are zeros.
    """
    joints = {f.keypoints.shape[1] for f in frames if len(f)}
    if len(joints) > 1:
        raise ValueError(f'frames have different joint counts {joints}')
    num_joints = joints.pop() if joints else 0
    keypoint = np.zeros((max_persons, len(frames), num_joints, 2), np.float32)
    score = np.zeros((max_persons, len(frames), num_joints), np.float32)
    tracks = link_tracks(frames, iou_thr, max_gap)
    # Stable: equal scores keep the order of first appearance.
    tracks.sort(key=lambda tr: -tr.score)
    for m, track in enumerate(tracks[:max_persons]):
        for t, i in zip(track.frames, track.indices):
            keypoint[m, t] = frames[t].keypoints[i]
            score[m, t] = frames[t].keypoint_scores[i]
    return keypoint, score
