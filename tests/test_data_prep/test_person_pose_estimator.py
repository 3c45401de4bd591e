# Copyright (c) mmamr contributors. All rights reserved.
"""PersonPoseEstimator (the ``pose`` extra): RTMDet-tiny + RTMPose-t built
from the configs shipped in mmdet / mmpose, with random weights (nothing
can be downloaded here; the detector's are biased to find people, see
``person_detector.py``), on real NTU frames.

These tests fail, never skip, without mmdet / mmpose: CI installs the
``pose`` extra (tools/run_tests.sh). Other runs deselect them (``pose``
mark, see setup.cfg).
"""
from pathlib import Path

import cv2
import numpy as np
import pytest
import sample_data
import torch
from person_detector import write_person_detector_checkpoint

pytestmark = pytest.mark.pose
VIDEO = sample_data.NTU_DIR / 'S001C001P001R001A001_rgb.avi'


@pytest.fixture(scope='module')
def frames():
    """Frames 0, 40 and 80 of the real NTU video (1920 x 1080, BGR)."""
    cap = cv2.VideoCapture(str(VIDEO))
    out = []
    for t in range(81):
        ok, frame = cap.read()
        assert ok
        if t % 40 == 0:
            out.append(frame)
    cap.release()
    return out


@pytest.fixture(scope='module')
def estimator(tmp_path_factory):
    from mmengine.registry import DefaultScope

    # Fails (ImportError) without the pose extra: intended.
    from mmamr.data_prep.person_pose_estimator import PersonPoseEstimator
    checkpoint = write_person_detector_checkpoint(
        tmp_path_factory.mktemp('det') / 'rtmdet_tiny_person.pth')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmaction'):
        with pytest.warns(UserWarning) as record:
            estimator = PersonPoseEstimator(
                det_checkpoint=checkpoint,
                det_score_thr=0.0,
                max_persons_per_frame=3)
        # Building under mmdet's and mmpose's scopes leaves the caller's.
        assert DefaultScope.get_current_instance().scope_name == 'mmaction'
    random = [str(w.message) for w in record if 'RANDOM' in str(w.message)]
    assert len(random) == 1 and 'pose model has RANDOM' in random[0]
    return estimator


def test_without_checkpoints_both_models_are_announced_random():
    from mmamr.data_prep.person_pose_estimator import PersonPoseEstimator
    with pytest.warns(UserWarning) as record:
        PersonPoseEstimator()
    random = [str(w.message) for w in record if 'RANDOM' in str(w.message)]
    assert len(random) == 2
    assert '--det-checkpoint' in random[0]
    assert '--pose-checkpoint' in random[1]


def test_default_models_are_the_shipped_rtmdet_tiny_and_rtmpose_t(estimator):
    assert type(estimator.detector).__name__ == 'RTMDet'
    assert estimator.detector.cfg.model.backbone.widen_factor == 0.375
    assert type(estimator.pose_model.head).__name__ == 'RTMCCHead'
    assert estimator.pose_model.cfg.model.backbone.widen_factor == 0.375
    assert estimator.num_joints == 17  # COCO


def test_batched_equals_mmdet_and_mmpose_frame_by_frame(estimator, frames):
    from mmdet.apis import inference_detector
    from mmengine.registry import DefaultScope
    from mmpose.apis import inference_topdown

    boxes = estimator.detect(frames)
    poses = estimator.estimate_poses(frames, boxes)
    assert len(boxes) == len(poses) == 3
    for frame, frame_boxes, frame_poses in zip(frames, boxes, poses):
        # Detection: mmdet's own single-image inference, then our filter
        # (person class, top max_persons_per_frame by score).
        with DefaultScope.overwrite_default_scope('mmdet'):
            pred = inference_detector(estimator.detector, frame).pred_instances
        person = (pred.labels == 0).cpu().numpy()
        scores = pred.scores.cpu().numpy()[person]
        expected = pred.bboxes.cpu().numpy()[person][np.argsort(
            -scores, kind='stable')[:3]]
        assert frame_boxes.shape == (3, 4)
        np.testing.assert_allclose(frame_boxes, expected, rtol=1e-4, atol=0.5)
        # Pose: mmpose's single-image top-down inference in the same boxes.
        results = inference_topdown(estimator.pose_model, frame, frame_boxes)
        keypoints = np.concatenate(
            [r.pred_instances.keypoints for r in results])
        scores = np.clip(
            np.concatenate([r.pred_instances.keypoint_scores
                            for r in results]), 0, 1)
        keypoints[scores == 0] = 0
        np.testing.assert_allclose(
            frame_poses.keypoint_scores, scores, atol=1e-4)
        np.testing.assert_allclose(frame_poses.keypoints, keypoints, atol=0.5)


def test_poses_have_the_documented_format(estimator, frames):
    (poses, ) = estimator(frames[:1])
    assert poses.bboxes.shape == (3, 4) and poses.bboxes.dtype == np.float32
    assert poses.keypoints.shape == (3, 17, 2)
    assert poses.keypoint_scores.shape == (3, 17)
    scores = poses.keypoint_scores
    assert scores.min() >= 0 and scores.max() <= 1
    assert (poses.keypoints[scores == 0] == 0).all()
    assert np.isfinite(poses.keypoints).all()


def test_score_threshold_and_box_limit(estimator, frames, monkeypatch):
    kept = estimator.detect(frames[:1])[0]
    monkeypatch.setattr(estimator, 'max_persons_per_frame', 1)
    assert np.array_equal(estimator.detect(frames[:1])[0], kept[:1])
    # Scores are probabilities: above 1, nobody passes.
    monkeypatch.setattr(estimator, 'det_score_thr', 1.01)
    assert estimator.detect(frames[:1])[0].shape == (0, 4)
    (empty, ) = estimator(frames[:1])
    assert len(empty) == 0 and empty.keypoints.shape == (0, 17, 2)


def test_configs_resolve_in_the_packages_or_fail_clearly(tmp_path):
    from mmamr.data_prep.person_pose_estimator import (DEFAULT_DET_CONFIG,
                                                       DEFAULT_POSE_CONFIG,
                                                       resolve_config)
    for config in (DEFAULT_DET_CONFIG, DEFAULT_POSE_CONFIG):
        path = Path(resolve_config(config))
        assert path.is_file() and '.mim' in path.parts
    with pytest.raises(FileNotFoundError, match='mmdet::nope.py'):
        resolve_config('mmdet::nope.py')
    with pytest.raises(FileNotFoundError, match='not installed'):
        resolve_config('no_such_package::x.py')
    with pytest.raises(FileNotFoundError, match='config file'):
        resolve_config(str(tmp_path / 'missing.py'))


def test_cuda_without_cuda_is_a_clear_error(monkeypatch):
    from mmamr.data_prep.person_pose_estimator import check_device_ops
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    check_device_ops('cpu')
    with pytest.raises(ValueError, match='CUDA is not available'):
        check_device_ops('cuda:0')
