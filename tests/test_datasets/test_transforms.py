# Copyright (c) mmamr contributors. All rights reserved.
"""The RGB-skeleton transforms: one window for both modalities, fixed
skeleton units, zero padding kept, and inputs packed as the model wants."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import sample_data
import torch
from mmaction.registry import TRANSFORMS

import mmamr  # noqa: F401  registers our dataset and transforms

NTU = sample_data.NTU_DIR
NTU_ID = 'S001C001P001R001A001'


def write_video(path: Path, num_frames: int, size=(32, 24)) -> str:
    """MJPG video whose frame ``i`` has R = 8 * i, G = 0, B = 128."""
    width, height = size
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30, (width, height))
    for i in range(num_frames):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0], frame[..., 2] = 128, 8 * i  # cv2 writes BGR
        writer.write(frame)
    writer.release()
    return str(path)


def indexed_keypoint(num_person: int, num_frames: int) -> np.ndarray:
    """``(M, T, 25, 3)`` with ``keypoint[m, t] == t + 1`` (never zero)."""
    kp = np.ones((num_person, num_frames, 25, 3), np.float32)
    return kp * (np.arange(num_frames, dtype=np.float32) + 1)[:, None, None]


def run(cfgs, results):
    for cfg in cfgs:
        results = TRANSFORMS.build(cfg)(results)
    return results


def sample(clip_len, total_frames, test_mode=True, num_clips=1):
    cfg = dict(
        type='RGBSkeletonSampleFrames',
        clip_len=clip_len,
        num_clips=num_clips,
        test_mode=test_mode)
    return run([cfg], dict(total_frames=total_frames, modality='both'))


@pytest.mark.parametrize('total, t_rgb, t_skel', [(103, 8, 32), (300, 32, 64),
                                                  (40, 32, 32), (20, 32, 16),
                                                  (5, 16, 8)])
@pytest.mark.parametrize('test_mode', [True, False])
def test_both_modalities_sample_the_same_window(total, t_rgb, t_skel,
                                                test_mode):
    out = sample(dict(RGB=t_rgb, Pose=t_skel), total, test_mode)
    assert out['modality'] == ['RGB', 'Pose']
    # One frame per segment of length total / clip_len: both modalities
    # start in the first segment and end in the last one of the coarser.
    coarse = min(t_rgb, t_skel)
    segment = total / coarse
    for inds, clip_len in ((out['RGB_inds'], t_rgb), (out['Pose_inds'],
                                                      t_skel)):
        assert inds.shape == (clip_len, )
        assert np.all(np.diff(inds) >= 0), 'frames stay in temporal order'
        assert 0 <= inds[0] < max(segment, 1)
        assert (coarse - 1) * total // coarse <= inds[-1] < total


def test_test_mode_sampling_is_deterministic():
    clip_len = dict(RGB=8, Pose=32)
    first = sample(clip_len, 103, num_clips=2)
    np.random.seed(0)
    second = sample(clip_len, 103, num_clips=2)
    for key in ('RGB_inds', 'Pose_inds'):
        np.testing.assert_array_equal(first[key], second[key])
    assert first['RGB_inds'].shape == (16, )


def test_training_sampling_jitters():
    draws = {
        tuple(sample(dict(Pose=16), 300, False)['Pose_inds'])
        for _ in range(5)
    }
    assert len(draws) > 1


def test_sampler_rejects_a_plain_clip_len():
    with pytest.raises(ValueError, match='RGB=32, Pose=32'):
        TRANSFORMS.build(dict(type='RGBSkeletonSampleFrames', clip_len=32))


def decode(results, video_backend='opencv'):
    return run([dict(type='RGBSkeletonDecode', video_backend=video_backend)],
               results)


@pytest.mark.parametrize('backend', ['decord', 'opencv'])
def test_decode_reads_the_sampled_frames_in_rgb_order(tmp_path, backend):
    video = write_video(tmp_path / 'a.avi', 24)
    results = dict(
        filename=video,
        frame_dir='a',
        total_frames=24,
        keypoint=indexed_keypoint(1, 24),
        img_shape=(1080, 1920),  # the skeleton's frame, not the video's
        modality=['RGB', 'Pose'],
        RGB_inds=np.array([0, 7, 23]),
        Pose_inds=np.array([1, 2, 22]))
    out = decode(results, backend)
    imgs = np.stack(out['imgs'])
    assert imgs.shape == (3, 24, 32, 3) and imgs.dtype == np.uint8
    np.testing.assert_allclose(
        imgs[..., 0].mean((1, 2)), [0, 56, 184], atol=3)  # R = 8 * index
    np.testing.assert_allclose(imgs[..., 2].mean(), 128, atol=3)  # B
    # 3-D coordinates are not rescaled to the video size.
    np.testing.assert_array_equal(out['keypoint'][0, :, 0, 0], [2, 3, 23])
    assert out['keypoint_score'].shape == (1, 3, 25)
    assert out['img_shape'] == (24, 32)
    assert out['skeleton_img_shape'] == (1080, 1920)


@pytest.mark.parametrize('backend', ['decord', 'opencv'])
def test_video_shorter_than_skeleton_names_file_and_counts(tmp_path, backend):
    video = write_video(tmp_path / 'short_rgb.avi', 10)
    results = dict(
        filename=video,
        total_frames=20,
        modality=['RGB'],
        RGB_inds=np.arange(4))
    with pytest.raises(ValueError, match=r'short_rgb\.avi has 10 frames.*20'):
        decode(results, backend)


def test_unknown_video_backend_is_refused():
    with pytest.raises(ValueError, match='video_backend'):
        decode(dict(), 'pyav')


def test_decoded_ntu_frames_equal_a_sequential_read():
    video = str(NTU / f'{NTU_ID}_rgb.avi')
    cap, frames = cv2.VideoCapture(video), []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert len(frames) == 103
    inds = np.array([50, 3, 3, 102, 0])  # unsorted, repeated, the last
    out = decode(
        dict(filename=video, total_frames=103, modality=['RGB'],
             RGB_inds=inds))['imgs']
    for img, index in zip(out, inds):
        np.testing.assert_array_equal(img, frames[index])


def test_rgb_without_a_video_names_the_sample():
    results = dict(
        frame_dir='S001',
        total_frames=4,
        modality=['RGB'],
        RGB_inds=np.arange(4))
    with pytest.raises(KeyError, match='S001'):
        decode(results)


def test_decoded_ntu_frames_are_rgb():
    video = str(NTU / f'{NTU_ID}_rgb.avi')
    out = decode(
        dict(
            filename=video,
            total_frames=103,
            modality=['RGB'],
            RGB_inds=np.array([0])))
    ok, bgr = cv2.VideoCapture(video).read()
    assert ok
    rgb = out['imgs'][0].astype(int)
    assert np.abs(rgb - bgr[..., ::-1]).mean() < 1
    assert np.abs(rgb - bgr).mean() > 1


def normalize(keypoint, **cfg):
    return run([dict(type='NormalizeSkeleton', **cfg)],
               dict(keypoint=keypoint))['keypoint']


def realistic_keypoint(num_frames=30) -> np.ndarray:
    """A standing, swaying body 3 m from the camera, in metres."""
    rng = np.random.default_rng(0)
    body = rng.uniform([-0.3, -0.9, -0.2], [0.3, 0.6, 0.2], (25, 3))
    sway = 0.2 * np.sin(np.linspace(0, np.pi, num_frames))[:, None, None]
    return (body + [0.1, 0.2, 3.4] + sway)[None].astype(np.float32)


def test_normalized_coordinates_lie_in_unit_range():
    kp = realistic_keypoint()
    out = normalize(kp)
    assert out.dtype == np.float32 and out.shape == kp.shape
    assert out.min() >= 0 and out.max() <= 1
    # Centre: joint 1 of body 0 in the first frame maps to the middle.
    np.testing.assert_allclose(out[0, 0, 1], 0.5, atol=1e-6)
    # Fixed units: one unit is (high - low) metres on every axis.
    np.testing.assert_allclose(
        np.diff(out[0, :2, 3], axis=0),
        np.diff(kp[0, :2, 3], axis=0) / 3,
        atol=1e-6)


def test_padding_stays_exactly_zero():
    kp = np.concatenate([realistic_keypoint(), realistic_keypoint()])
    kp[1, 10:] = 0  # the second body leaves
    kp[:, 25:] = 0  # trailing empty frames
    out = normalize(kp)
    assert np.all(out[1, 10:] == 0) and np.all(out[:, 25:] == 0)
    assert np.all(out[0, :25] != 0)


def test_centre_comes_from_the_first_frame_with_the_body():
    kp = realistic_keypoint()
    kp[:, :3] = 0
    out = normalize(kp)
    np.testing.assert_allclose(out[0, 3, 1], 0.5, atol=1e-6)


def test_pixel_keypoints_normalized_by_image_shape():
    kp = np.array([[[[0, 0], [1920, 1080], [960, 270]]]], np.float32)
    results = dict(keypoint=kp, img_shape=(1080, 1920))
    out = run([
        dict(type='NormalizeSkeleton', center_joint=None, use_img_shape=True)
    ], results)['keypoint']
    np.testing.assert_allclose(out[0, 0], [[0, 0], [1, 1], [0.5, 0.25]])


def test_normalize_rejects_inconsistent_settings():
    with pytest.raises(ValueError, match='center_joint=None'):
        TRANSFORMS.build(dict(type='NormalizeSkeleton', use_img_shape=True))
    with pytest.raises(ValueError, match='high > low'):
        TRANSFORMS.build(dict(type='NormalizeSkeleton', low=1, high=1))


def format_skeleton(keypoint, num_clips=1, **cfg):
    results = dict(
        keypoint=keypoint,
        keypoint_score=np.ones(keypoint.shape[:-1], np.float32),
        num_clips=num_clips)
    return run([dict(type='FormatSkeletonInput', **cfg)], results)


def test_bodies_zero_padded_and_truncated_to_num_person():
    one = format_skeleton(indexed_keypoint(1, 8), num_clips=2)
    assert 'keypoint' not in one and 'keypoint_score' not in one
    assert one['skeleton'].shape == (2, 2, 4, 25, 3)  # no score channel
    assert one['skeleton'].dtype == np.float32
    assert np.all(one['skeleton'][:, 1] == 0)
    three = format_skeleton(indexed_keypoint(3, 8))
    assert three['skeleton'].shape == (1, 2, 8, 25, 3)
    scored = format_skeleton(indexed_keypoint(1, 8), with_score=True)
    assert scored['skeleton'].shape == (1, 2, 8, 25, 4)


def test_rgb_spatial_transform_before_skeleton_formatting_is_refused():
    # 2-D keypoints: Resize would silently rescale them as pixels.
    results = dict(
        keypoint=indexed_keypoint(1, 4)[..., :2],
        imgs=[np.zeros((24, 32, 3), np.uint8)] * 4,
        img_shape=(24, 32),
        modality=['RGB', 'Pose'])
    with pytest.raises(RuntimeError, match='before Resize'):
        run([
            dict(type='Resize', scale=(16, 16), keep_ratio=False),
            dict(type='FormatSkeletonInput')
        ], results)


def test_pack_gives_exactly_the_present_modalities():
    results = dict(
        imgs=np.zeros((1, 3, 4, 8, 8), np.uint8),
        skeleton=np.zeros((1, 2, 6, 25, 3), np.float32),
        label=3,
        frame_dir='x')
    packed = run([dict(type='PackRGBSkeletonInputs')], dict(results))
    assert set(packed['inputs']) == {'rgb', 'skeleton'}
    assert packed['inputs']['rgb'].dtype == torch.uint8
    assert packed['inputs']['skeleton'].dtype == torch.float32
    assert packed['data_samples'].gt_label.item() == 3
    assert packed['data_samples'].frame_dir == 'x'
    results.pop('imgs')
    packed = run([dict(type='PackRGBSkeletonInputs')], results)
    assert set(packed['inputs']) == {'skeleton'}


def test_pack_refuses_unformatted_frames():
    results = dict(imgs=[np.zeros((8, 8, 3), np.uint8)], label=0)
    with pytest.raises(ValueError, match='FormatShape'):
        run([dict(type='PackRGBSkeletonInputs')], results)
