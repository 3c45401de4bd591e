# Copyright (c) mmamr contributors. All rights reserved.
"""Linking detections across frames and keeping the best M people."""
import numpy as np
import pytest

from mmamr.data_prep.person_tracks import (FramePoses, box_iou, link_tracks,
                                           select_persons)

V = 3  # joints


def person(x: float, conf: float, size: float = 10.0):
    """A box at ``x`` and joints that identify it (their x is ``x``)."""
    box = np.array([x, 0, x + size, size], np.float32)
    keypoints = np.stack([np.full(V, x), np.arange(V)], -1).astype(np.float32)
    return box, keypoints, np.full(V, conf, np.float32)


def frame(*people) -> FramePoses:
    if not people:
        return FramePoses(
            np.zeros((0, 4), np.float32), np.zeros((0, V, 2), np.float32),
            np.zeros((0, V), np.float32))
    boxes, keypoints, scores = zip(*people)
    return FramePoses(np.stack(boxes), np.stack(keypoints), np.stack(scores))


def test_box_iou_matches_a_hand_computation():
    a = np.array([[0, 0, 10, 10], [0, 0, 0, 5]], np.float32)
    b = np.array([[5, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]],
                 np.float32)
    iou = box_iou(a, b)
    np.testing.assert_allclose(iou[0], [25 / 175, 1, 0])
    np.testing.assert_allclose(iou[1], [0, 0, 0])  # zero-area box


def test_identities_survive_a_changing_detection_order():
    # A walks right from x=0, B walks left from x=100; the detector lists
    # them in a different order every other frame.
    frames = []
    for t in range(8):
        a, b = person(2.0 * t, 0.9), person(100 - 2.0 * t, 0.6)
        frames.append(frame(a, b) if t % 2 else frame(b, a))
    keypoint, score = select_persons(frames, max_persons=2)
    assert keypoint.shape == (2, 8, V, 2) and score.shape == (2, 8, V)
    assert keypoint.dtype == np.float32 and score.dtype == np.float32
    np.testing.assert_allclose(keypoint[0, :, 0, 0], 2.0 * np.arange(8))
    np.testing.assert_allclose(keypoint[1, :, 0, 0], 100 - 2.0 * np.arange(8))
    np.testing.assert_allclose(score[0], 0.9)
    np.testing.assert_allclose(score[1], 0.6)


def test_persistent_person_beats_a_brief_confident_one():
    # C is seen in all 10 frames at 0.5 (summed confidence 5), E at 0.4
    # (4); D, at 1.0 in 3 frames only (3), is third and dropped.
    frames = [
        frame(
            person(0, 0.5), person(50, 0.4),
            *([person(100, 1.0)] if t < 3 else [])) for t in range(10)
    ]
    keypoint, score = select_persons(frames, max_persons=2)
    assert (keypoint[0, :, 0, 0] == 0).all() and (score[0] == 0.5).all()
    assert (keypoint[1, :, 0, 0] == 50).all()
    np.testing.assert_allclose(score[1], 0.4)


def test_a_short_gap_continues_the_track_and_is_zero_padded():
    frames = [frame(person(10, 0.8)) for _ in range(3)] + [frame()] * 4 + \
        [frame(person(11, 0.8)) for _ in range(3)]
    tracks = link_tracks(frames, max_gap=10)
    assert len(tracks) == 1 and tracks[0].frames == [0, 1, 2, 7, 8, 9]
    keypoint, score = select_persons(frames, max_persons=2)
    assert (score[0, 3:7] == 0).all() and (keypoint[0, 3:7] == 0).all()
    assert (score[0, :3] > 0).all() and (score[0, 7:] > 0).all()
    assert not score[1].any()  # no second person: all padding
    # Past max_gap the person is a new track.
    assert len(link_tracks(frames, max_gap=3)) == 2


def test_a_jump_without_overlap_starts_a_new_track():
    frames = [frame(person(0, 0.9))] * 3 + [frame(person(500, 0.9))] * 3
    assert len(link_tracks(frames)) == 2


def test_no_detection_at_all_gives_zeros():
    keypoint, score = select_persons([frame()] * 4, max_persons=2)
    assert keypoint.shape == (2, 4, 0, 2) and not score.any()


def test_frames_with_different_joint_counts_are_refused():
    other = FramePoses(
        np.zeros((1, 4), np.float32), np.zeros((1, V + 1, 2), np.float32),
        np.ones((1, V + 1), np.float32))
    with pytest.raises(ValueError, match='different joint counts'):
        select_persons([frame(person(0, 0.9)), other])
