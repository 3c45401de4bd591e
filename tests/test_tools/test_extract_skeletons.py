# Copyright (c) mmamr contributors. All rights reserved.
"""tools/data/extract_skeletons.py end to end on the real NTU video:
RTMDet-tiny + RTMPose-t from the configs shipped in mmdet / mmpose, random
weights (no download possible; the detector's, given as a checkpoint file
the way users give the model zoo's, are biased to find people, see
tests/person_detector.py), then the pickle through
``RGBSkeletonDataset`` with a 2-D skeleton pipeline.

Needs the ``pose`` extra and fails (never skips) without it; CI installs
it (tools/run_tests.sh). About a minute on 2 CPU cores.
"""
import pickle
import shutil

import cv2
import numpy as np
import pytest
import sample_data
import torch
from conftest import run_tool
from person_detector import write_person_detector_checkpoint

pytestmark = [pytest.mark.pose, pytest.mark.slow]
VIDEO = sample_data.NTU_DIR / 'S001C001P001R001A001_rgb.avi'
TOOL = 'tools/data/extract_skeletons.py'


def decoded_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    cap.release()
    return count


@pytest.fixture(scope='module')
def extracted(tmp_path_factory):
    """One run of the tool on a folder holding the real video, listed with
    its label (A001 -> 0) in split ``xsub_train``; work dir kept."""
    root = tmp_path_factory.mktemp('extract')
    videos = root / 'videos'
    videos.mkdir()
    shutil.copy(VIDEO, videos)
    (root / 'train.txt').write_text(f'{VIDEO.name} 0\n')
    checkpoint = write_person_detector_checkpoint(root / 'rtmdet_tiny.pth')
    # A user's config on top of the shipped one: with random weights all
    # 8400 boxes score alike, and NMS over all of them costs seconds per
    # frame (a trained detector leaves few candidates).
    from mmamr.data_prep.person_pose_estimator import (DEFAULT_DET_CONFIG,
                                                       resolve_config)
    det_config = root / 'rtmdet_tiny_few_candidates.py'
    det_config.write_text(
        f'_base_ = {resolve_config(DEFAULT_DET_CONFIG)!r}\n'
        'model = dict(test_cfg=dict(nms_pre=100, max_per_img=20))\n')
    args = [
        TOOL, videos, root / 'ntu_2d.pkl', '--split',
        f'xsub_train={root / "train.txt"}', '--det-config', det_config,
        '--det-checkpoint', checkpoint, '--det-score-thr', '0.3',
        '--max-persons-per-frame', '2', '--batch-size', '8', '--keep-work-dir',
        '--no-progress'
    ]
    proc = run_tool(args, timeout=600)
    return dict(
        root=root,
        videos=videos,
        out=root / 'ntu_2d.pkl',
        args=args,
        log=proc.stdout + proc.stderr)


def test_random_pose_weights_are_announced_loudly(extracted):
    assert 'pose model has RANDOM weights' in extracted['log']
    assert '--pose-checkpoint' in extracted['log']
    assert 'detector has RANDOM' not in extracted['log']  # it has a file


def test_pickle_shapes_formats_and_frame_count(extracted):
    with open(extracted['out'], 'rb') as f:
        data = pickle.load(f)
    (ann, ) = data['annotations']
    assert data['split'] == {'xsub_train': ['S001C001P001R001A001_rgb']}
    assert ann['frame_dir'] == 'S001C001P001R001A001_rgb'
    assert ann['video'] == VIDEO.name and ann['label'] == 0
    # Every decoded frame of the video has its skeleton frame.
    assert ann['total_frames'] == decoded_frames(VIDEO) == 103
    assert ann['img_shape'] == ann['original_shape'] == (1080, 1920)
    keypoint, score = ann['keypoint'], ann['keypoint_score']
    assert keypoint.shape == (2, 103, 17, 2) and keypoint.dtype == np.float32
    assert score.shape == (2, 103, 17) and score.dtype == np.float32
    assert np.isfinite(keypoint).all()
    assert score.min() >= 0 and score.max() <= 1 and score.any()
    assert (keypoint[score == 0] == 0).all()  # undetected -> padding
    # Detected joints lie near the frame (boxes are clipped to it; the
    # pose crop adds a margin around each box).
    detected = keypoint[score > 0]
    assert (detected > -0.5 * 1920).all() and (detected < 1.5 * 1920).all()


def test_a_rerun_does_not_redo_finished_videos(extracted):
    before = extracted['out'].read_bytes()
    # The pickle exists: replacing it must be asked for.
    proc = run_tool(extracted['args'] + ['--overwrite'], timeout=600)
    assert '1 videos (0 extracted now)' in proc.stdout + proc.stderr
    assert extracted['out'].read_bytes() == before


def test_the_pickle_loads_in_the_dataset_with_a_2d_pipeline(extracted):
    from mmaction.registry import DATASETS
    from mmengine.registry import init_default_scope

    import mmamr  # noqa: F401  registers the dataset and transforms
    init_default_scope('mmaction')
    clip_len = dict(RGB=8, Pose=32)
    # The iMiGUE config's val pipeline (2-D pixels -> [0, 1] by the
    # video's size), with 2 people.
    pipeline = [
        dict(
            type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
        dict(type='RGBSkeletonDecode'),
        dict(type='NormalizeSkeleton', center_joint=None, use_img_shape=True),
        dict(type='FormatSkeletonInput', num_person=2),
        dict(type='Resize', scale=(-1, 64)),
        dict(type='CenterCrop', crop_size=56),
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackRGBSkeletonInputs'),
    ]
    dataset = DATASETS.build(
        dict(
            type='RGBSkeletonDataset',
            ann_file=str(extracted['out']),
            split='xsub_train',
            data_prefix=dict(video=str(extracted['videos'])),
            pipeline=pipeline,
            test_mode=True))
    assert len(dataset) == 1
    item = dataset[0]
    rgb, skeleton = item['inputs']['rgb'], item['inputs']['skeleton']
    assert rgb.shape == (1, 3, 8, 56, 56) and rgb.dtype == torch.uint8
    assert skeleton.shape == (1, 2, 32, 17, 2)
    assert item['data_samples'].gt_label.item() == 0
    # Exactly the extracted keypoints of the sampled frames, divided by
    # the video's width and height.
    ann = dataset.get_data_info(0)
    scaled = ann['keypoint'] / np.array([1920, 1080], np.float32)
    for t in range(32):
        got = skeleton[0, :, t].numpy()
        assert np.abs(scaled - got[:, None]).max(axis=(0, 2, 3)).min() < 1e-6
