# Copyright (c) mmamr contributors. All rights reserved.
"""PersonCrop: the RGB frames cropped to the 2-D skeleton's box, on drawn
frames, on the synthetic dataset's pipeline and on the real NTU sample."""
import cv2
import numpy as np
import pytest
import sample_data
import torch
from mmaction.registry import DATASETS, TRANSFORMS
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  registers our dataset and transforms
from mmamr.data_prep.formats.ntu_skeleton_file import (read_skeleton_file,
                                                       to_keypoint_arrays)
from mmamr.data_prep.ntu_converter import convert_ntu
from mmamr.data_prep.synthetic import (SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic)

NTU = sample_data.NTU_DIR
NTU_ID = 'S001C001P001R001A001'


@pytest.fixture(autouse=True)
def mmaction_scope():
    init_default_scope('mmaction')


def crop(results, **cfg):
    return TRANSFORMS.build(dict(type='PersonCrop', **cfg))(results)


def frames(num_frames=3, height=100, width=120, seed=0):
    """Random frames with no zero pixel (zeros mark the padding)."""
    rng = np.random.default_rng(seed)
    return [
        rng.integers(1, 256, (height, width, 3), dtype=np.uint8)
        for _ in range(num_frames)
    ]


def box_keypoint(x1, y1, x2, y2, num_frames=4):
    """``(2, T, 25, 2)``: body 0's joints span ``[x1, x2] x [y1, y2]``
    over the clip (corners in different frames, others inside, some
    padding), body 1 is padding."""
    kp = np.zeros((2, num_frames, 25, 2), np.float32)
    kp[0, :, :20] = ((x1 + x2) / 2, (y1 + y2) / 2)
    kp[0, 0, 0], kp[0, -1, 1] = (x1, y1), (x2, y2)
    kp[0, 1, 2], kp[0, 2, 3] = (x1, y2), (x2, y1)
    return kp


def results_for(imgs, keypoint_2d, **extra):
    return dict(
        imgs=imgs,
        img_shape=imgs[0].shape[:2],
        keypoint_2d=keypoint_2d,
        **extra)


def zero_padded_slice(img, x1, y1, x2, y2, pad=200):
    """``img[y1:y2, x1:x2]`` of ``img`` zero-padded by ``pad`` pixels."""
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
    return padded[y1 + pad:y2 + pad, x1 + pad:x2 + pad]


def test_crop_is_exactly_the_drawn_person():
    imgs = frames()
    for img in imgs:
        img[20:40, 30:50] = 0  # the "person": a black rectangle
    out = crop(
        results_for(imgs, box_keypoint(30, 20, 50, 40)),
        padding=0,
        hw_ratio=None)
    assert out['img_shape'] == (20, 20)
    for got, img in zip(out['imgs'], imgs):
        np.testing.assert_array_equal(got, img[20:40, 30:50])
        assert not got.any()  # only the person


@pytest.mark.parametrize(
    'padding, hw_ratio, box',
    [
        (0.0, None, (20, 20, 60, 40)),  # the tight 40 x 20 box
        (0.5, None, (10, 15, 70, 45)),  # each side x 1.5
        (0.5, 1.0, (10, 0, 70, 60)),  # height grows to the width
        (0.0, 0.25, (0, 20, 80, 40)),  # width grows to 4 x height
        (0.5, 2.0, (10, -30, 70, 90)),  # taller than the 100-px frame
    ])
def test_padding_and_hw_ratio_give_the_expected_box(padding, hw_ratio, box):
    imgs = frames()
    out = crop(
        results_for(imgs, box_keypoint(20, 20, 60, 40)),
        padding=padding,
        hw_ratio=hw_ratio)
    x1, y1, x2, y2 = box
    assert out['img_shape'] == (y2 - y1, x2 - x1)
    for got, img in zip(out['imgs'], imgs):
        np.testing.assert_array_equal(got, zero_padded_slice(img, *box))


def test_parts_outside_the_image_are_zeros():
    imgs = frames(height=100, width=120)
    # Tight box 10 x 40 at the top-right corner -> 50 x 50 square.
    out = crop(
        results_for(imgs, box_keypoint(110, 5, 120, 45)),
        padding=0.25,
        hw_ratio=1.0)
    assert out['img_shape'] == (50, 50)  # x 90..140, y 0..50
    for got, img in zip(out['imgs'], imgs):
        assert not got[:, 30:].any()  # right of the image
        np.testing.assert_array_equal(got[:, :30], img[0:50, 90:])
    imgs = frames(height=100, width=120)
    out = crop(
        results_for(imgs, box_keypoint(2, 80, 22, 96)),
        padding=1.0,
        hw_ratio=1.0)  # 40 x 40 about (12, 88): x -8..32, y 68..108
    for got, img in zip(out['imgs'], imgs):
        np.testing.assert_array_equal(got,
                                      zero_padded_slice(img, -8, 68, 32, 108))
        assert not got[:, :8].any() and not got[32:].any()
        assert got[:32, 8:].all()


def test_box_spans_every_frame_of_the_clip_not_the_sampled_ones():
    # Two frames were decoded, but the joints of all ten frames count.
    keypoint_2d = np.zeros((1, 10, 25, 2), np.float32)
    keypoint_2d[0, :, 0] = (50, 50)
    keypoint_2d[0, 0, 1], keypoint_2d[0, 9, 1] = (40, 30), (60, 70)
    out = crop(
        results_for(frames(2), keypoint_2d, RGB_inds=np.array([4, 5])),
        padding=0,
        hw_ratio=None)
    assert out['img_shape'] == (40, 20)


@pytest.mark.parametrize(
    'keypoint_2d',
    [
        np.zeros((2, 5, 25, 2), np.float32),  # the body lost throughout
        np.full((1, 5, 25, 2), np.nan, np.float32),
        box_keypoint(30, 40, 30, 40),  # every joint on one pixel
    ])
def test_no_valid_joint_keeps_the_whole_frame(keypoint_2d):
    imgs = frames()
    results = results_for(list(imgs), keypoint_2d)
    out = crop(results)
    assert out['img_shape'] == (100, 120)
    assert all(a is b for a, b in zip(out['imgs'], imgs))


def test_keypoints_are_unchanged():
    rng = np.random.default_rng(0)
    keypoint = rng.uniform(-1, 3, (2, 4, 25, 3)).astype(np.float32)
    keypoint_2d = box_keypoint(20, 20, 60, 40)
    results = results_for(
        frames(),
        keypoint_2d.copy(),
        keypoint=keypoint.copy(),
        keypoint_score=np.ones((2, 4, 25), np.float32))
    out = crop(results)
    np.testing.assert_array_equal(out['keypoint'], keypoint)
    np.testing.assert_array_equal(out['keypoint_2d'], keypoint_2d)
    assert 'crop_bbox' not in out and 'scale_factor' not in out
    # So the skeleton steps may still follow.
    out = TRANSFORMS.build(dict(type='FormatSkeletonInput'))(out)
    np.testing.assert_array_equal(out['skeleton'][0], keypoint)


def test_keypoints_in_the_annotation_frame_are_scaled_to_the_video():
    # keypoint_2d in a 1000 x 1200 frame, the video decoded at 100 x 120.
    out = crop(
        results_for(
            frames(),
            box_keypoint(200, 200, 600, 400),
            skeleton_img_shape=(1000, 1200)),
        padding=0,
        hw_ratio=None)
    assert out['img_shape'] == (20, 40)


def test_pixel_keypoint_key_and_refusals():
    out = crop(
        dict(imgs=frames(), keypoint=box_keypoint(20, 20, 60, 40)),
        padding=0,
        hw_ratio=None,
        keypoint_key='keypoint')
    assert out['img_shape'] == (20, 40)
    with pytest.raises(KeyError, match="'keypoint_2d'"):
        crop(dict(imgs=frames(), frame_dir='a'))
    with pytest.raises(RuntimeError, match='scale_factor'):
        crop(
            results_for(
                frames(),
                box_keypoint(20, 20, 60, 40),
                scale_factor=np.ones(2)))
    with pytest.raises(ValueError, match='padding'):
        crop(dict(), padding=-0.1)
    with pytest.raises(ValueError, match='hw_ratio'):
        crop(dict(), hw_ratio=0)


def test_repr():
    transform = TRANSFORMS.build(dict(type='PersonCrop', hw_ratio=0.5))
    assert repr(transform) == ("PersonCrop(padding=0.25, hw_ratio=0.5, "
                               "keypoint_key='keypoint_2d')")


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
    """Four synthetic NTU-format samples (64 x 64 videos), converted."""
    root = tmp_path_factory.mktemp('synthetic')
    generate_synthetic(str(root), num_per_class=2, num_classes=2, workers=1)
    ann_file = str(root / 'ann.pkl')
    convert_ntu(
        str(root / SKELETON_DIR), ann_file, video_dir=str(root / VIDEO_DIR))
    return dict(
        ann_file=ann_file, data_prefix=dict(video=str(root / VIDEO_DIR)))


def rgb_pipeline(person_crop=True, pack=True):
    steps = [
        dict(
            type='RGBSkeletonSampleFrames',
            clip_len=dict(RGB=8),
            test_mode=True),
        dict(type='RGBSkeletonDecode')
    ]
    if person_crop:
        steps.append(dict(type='PersonCrop'))
    if pack:
        steps += [
            dict(type='Resize', scale=(32, 32), keep_ratio=False),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackRGBSkeletonInputs'),
        ]
    return steps


def rgb_dataset(synthetic, pipeline):
    return DATASETS.build(
        dict(
            type='RGBSkeletonDataset',
            modality='rgb',
            pipeline=pipeline,
            **synthetic))


def test_rgb_only_dataset_keeps_keypoint_2d_only(synthetic):
    info = rgb_dataset(synthetic, []).get_data_info(0)
    assert info['keypoint_2d'].shape[-1] == 2
    assert 'keypoint' not in info and 'keypoint_score' not in info


def test_synthetic_rgb_pipeline_crops_to_the_person(synthetic):
    cropped = rgb_dataset(synthetic, rgb_pipeline(pack=False))
    whole = rgb_dataset(synthetic, rgb_pipeline(False, pack=False))
    packed = rgb_dataset(synthetic, rgb_pipeline())
    unpacked = rgb_dataset(synthetic, rgb_pipeline(False))
    for index in range(len(cropped)):
        out, frame = cropped[index], whole[index]
        assert frame['img_shape'] == (64, 64)
        height, width = out['img_shape']
        assert height == width and height < 64  # square, around the body
        # Every joint of the clip lies in the box, which is the frame's.
        x1, y1, x2, y2 = TRANSFORMS.build(
            dict(type='PersonCrop')).get_box(frame)
        assert (x2 - x1, y2 - y1) == (width, height)
        xy = out['keypoint_2d'][(out['keypoint_2d'] != 0).any(-1)]
        assert len(xy) and (xy >= (x1, y1)).all() and (xy <= (x2, y2)).all()
        for got, img in zip(out['imgs'], frame['imgs']):
            np.testing.assert_array_equal(
                got, zero_padded_slice(img, x1, y1, x2, y2))
        rgb = packed[index]['inputs']['rgb']
        assert rgb.shape == (1, 3, 8, 32, 32)
        assert not torch.equal(rgb, unpacked[index]['inputs']['rgb'])


def test_real_ntu_box_holds_the_body_inside_the_frame():
    arrays = to_keypoint_arrays(
        read_skeleton_file(str(NTU / f'{NTU_ID}.skeleton')), 2)
    keypoint_2d = arrays['keypoint_2d']
    results = dict(
        filename=str(NTU / f'{NTU_ID}_rgb.avi'),
        frame_dir=NTU_ID,
        total_frames=keypoint_2d.shape[1],
        keypoint_2d=keypoint_2d,
        img_shape=(1080, 1920),
        modality=['RGB'],
        RGB_inds=np.array([0, 60]))
    results = TRANSFORMS.build(dict(type='RGBSkeletonDecode'))(results)
    frame = results['imgs'][0]
    assert frame.shape == (1080, 1920, 3)
    transform = TRANSFORMS.build(dict(type='PersonCrop'))
    x1, y1, x2, y2 = box = transform.get_box(results)
    assert 0 <= x1 < x2 <= 1920 and 0 <= y1 < y2 <= 1080
    assert x2 - x1 == y2 - y1 < 1080  # square, smaller than the frame
    xy = keypoint_2d[(keypoint_2d != 0).any(-1)]
    assert (xy >= (x1, y1)).all() and (xy <= (x2, y2)).all()
    # A 455 x 256 copy of the video (as the converter re-encodes it) gives
    # the same box, scaled.
    small = dict(
        results,
        imgs=[cv2.resize(img, (455, 256)) for img in results['imgs']],
        skeleton_img_shape=(1080, 1920))
    np.testing.assert_allclose(
        transform.get_box(small), np.multiply(box, 256 / 1080), atol=2)
    out = transform(results)
    assert out['img_shape'] == (y2 - y1, x2 - x1)
    np.testing.assert_array_equal(out['imgs'][0], frame[y1:y2, x1:x2])
    np.testing.assert_array_equal(out['keypoint_2d'], keypoint_2d)
