# Copyright (c) mmamr contributors. All rights reserved.
"""RGBSkeletonDataset with the example pipelines of its docstring, on tiny
written videos and on the real NTU sample."""
import textwrap
from pathlib import Path

import cv2
import mmengine
import numpy as np
import pytest
import sample_data
import torch
from mmaction.registry import DATASETS
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  registers our dataset and transforms

NTU = sample_data.NTU_DIR
NTU_ID = 'S001C001P001R001A001'


def pipeline(t_rgb=8, t_skel=16, test_mode=False, size=16, modality='both'):
    """The docstring's pipeline, with small sizes."""
    clip_len = dict(RGB=t_rgb, Pose=t_skel)
    if modality != 'both':
        clip_len = {'rgb': dict(RGB=t_rgb), 'skeleton': dict(Pose=t_skel)}
        clip_len = clip_len[modality]
    skeleton = [
        dict(type='NormalizeSkeleton', center_joint=1, low=-1.5, high=1.5),
        dict(type='FormatSkeletonInput', num_person=2),
    ]
    crop = [dict(type='CenterCrop', crop_size=size)] if test_mode else [
        dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(size, size), keep_ratio=False),
        dict(type='Flip', flip_ratio=0.5),
    ]
    rgb = [dict(type='Resize', scale=(-1, size))
           ] + crop + [dict(type='FormatShape', input_format='NCTHW')]
    return ([
        dict(
            type='RGBSkeletonSampleFrames',
            clip_len=clip_len,
            test_mode=test_mode),
        dict(type='RGBSkeletonDecode'),
    ] + (skeleton if 'Pose' in clip_len else []) +
            (rgb if 'RGB' in clip_len else []) + [
                dict(
                    type='PackRGBSkeletonInputs',
                    meta_keys=('frame_dir', 'RGB_inds', 'Pose_inds'))
            ])


def write_video(path: Path, num_frames: int, size=(32, 24)) -> None:
    """MJPG video whose frame ``i`` has grey level 7 * i."""
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30, size)
    for i in range(num_frames):
        writer.write(np.full((size[1], size[0], 3), 7 * i, np.uint8))
    writer.release()


def annotation(name, num_frames, num_person=1, label=0, video=True):
    """A body 3 m from the camera, coordinates in metres."""
    rng = np.random.default_rng(label)
    kp = rng.uniform([-0.3, -0.9, 3.0], [0.3, 0.6, 3.5],
                     (num_person, num_frames, 25, 3)).astype(np.float32)
    info = dict(
        frame_dir=name,
        label=label,
        total_frames=num_frames,
        keypoint=kp,
        keypoint_score=np.ones(kp.shape[:-1], np.float32),
        img_shape=(24, 32),
        original_shape=(24, 32))
    if video:
        info['video'] = f'{name}_rgb.avi'
    return info


def write_annotations(path: Path, annotations, splits) -> str:
    mmengine.dump(dict(split=splits, annotations=annotations), str(path))
    return str(path)


@pytest.fixture(autouse=True)
def mmaction_scope():
    init_default_scope('mmaction')


@pytest.fixture
def tiny(tmp_path):
    """Three samples of 24/30/12 frames; the second has two bodies."""
    annos = [
        annotation('a', 24),
        annotation('b', 30, num_person=2, label=1),
        annotation('c', 12, label=2)
    ]
    for info, extra in zip(annos, (0, 5, 0)):
        write_video(tmp_path / info['video'], info['total_frames'] + extra)
    ann_file = write_annotations(tmp_path / 'ann.pkl', annos,
                                 dict(xsub_train=['a', 'b'], xsub_val=['c']))
    return dict(ann_file=ann_file, data_prefix=dict(video=str(tmp_path)))


def build(**cfg):
    return DATASETS.build(dict(type='RGBSkeletonDataset', **cfg))


def test_split_and_video_paths(tiny, tmp_path):
    dataset = build(split='xsub_train', pipeline=[], **tiny)
    assert len(dataset) == 2
    info = dataset.get_data_info(1)
    assert info['filename'] == str(tmp_path / 'b_rgb.avi')
    assert len(build(pipeline=[], **tiny)) == 3  # no split: everything


@pytest.mark.parametrize('test_mode', [False, True])
def test_items_have_the_model_input_layout(tiny, test_mode):
    dataset = build(
        split='xsub_train', pipeline=pipeline(test_mode=test_mode), **tiny)
    for index, num_person in ((0, 1), (1, 2)):
        item = dataset[index]
        inputs, sample = item['inputs'], item['data_samples']
        assert set(inputs) == {'rgb', 'skeleton'}
        assert inputs['rgb'].shape == (1, 3, 8, 16, 16)
        assert inputs['rgb'].dtype == torch.uint8
        assert inputs['skeleton'].shape == (1, 2, 16, 25, 3)
        assert inputs['skeleton'].dtype == torch.float32
        assert sample.gt_label.item() == index
        skeleton = inputs['skeleton']
        assert torch.all(skeleton[:, num_person:] == 0), 'padded body'
        real = skeleton[:, :num_person]
        assert real.min() >= 0 and real.max() <= 1


def test_test_mode_items_are_deterministic(tiny):
    dataset = build(
        split='xsub_train', pipeline=pipeline(test_mode=True), **tiny)
    first = dataset[1]
    np.random.seed(1)
    second = dataset[1]
    for key in ('rgb', 'skeleton'):
        assert torch.equal(first['inputs'][key], second['inputs'][key])


def test_rgb_frames_follow_the_sampled_indices(tiny):
    dataset = build(
        split='xsub_val', pipeline=pipeline(test_mode=True), **tiny)
    item = dataset[0]
    inds = item['data_samples'].RGB_inds
    grey = item['inputs']['rgb'][0].float().mean((0, 2, 3)).numpy()
    np.testing.assert_allclose(grey, 7 * inds, atol=3)


def test_unknown_split_names_the_available_ones(tiny):
    with pytest.raises(KeyError, match=r"xsub_val.*xsub_train|xview"):
        build(split='xview_train', pipeline=[], **tiny)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        build(ann_file=str(tmp_path / 'nope.pkl'), pipeline=[])


def test_missing_video_is_named_at_load_time(tiny, tmp_path):
    (tmp_path / 'b_rgb.avi').unlink()
    with pytest.raises(FileNotFoundError, match='b_rgb.avi'):
        build(split='xsub_train', pipeline=[], **tiny)


def test_annotation_without_video_is_named(tmp_path):
    ann_file = write_annotations(tmp_path / 'ann.pkl',
                                 [annotation('lonely', 8, video=False)],
                                 dict(xsub_train=['lonely']))
    with pytest.raises(KeyError, match='lonely'):
        build(ann_file=ann_file, split='xsub_train', pipeline=[])


def test_video_shorter_than_skeleton_names_the_file(tmp_path):
    write_video(tmp_path / 'a_rgb.avi', 10)
    ann_file = write_annotations(tmp_path / 'ann.pkl', [annotation('a', 20)],
                                 dict(xsub_train=['a']))
    dataset = build(
        ann_file=ann_file,
        split='xsub_train',
        pipeline=pipeline(),
        data_prefix=dict(video=str(tmp_path)))
    with pytest.raises(ValueError, match=r'a_rgb\.avi has 10 frames.*20'):
        dataset[0]


def test_skeleton_modality_needs_no_video(tmp_path):
    ann_file = write_annotations(
        tmp_path / 'ann.pkl',
        [annotation('a', 20, video=False),
         annotation('b', 20)],  # its video does not exist
        dict(xsub_train=['a', 'b']))
    dataset = build(
        ann_file=ann_file,
        split='xsub_train',
        modality='skeleton',
        pipeline=pipeline(modality='skeleton'),
        data_prefix=dict(video=str(tmp_path / 'absent')))
    for item in (dataset[0], dataset[1]):
        assert set(item['inputs']) == {'skeleton'}
        assert item['inputs']['skeleton'].shape == (1, 2, 16, 25, 3)


def test_rgb_modality_gives_only_rgb(tiny):
    dataset = build(
        split='xsub_train',
        modality='rgb',
        pipeline=pipeline(modality='rgb'),
        **tiny)
    assert 'keypoint' not in dataset.get_data_info(0)
    item = dataset[1]
    assert set(item['inputs']) == {'rgb'}
    assert item['inputs']['rgb'].shape == (1, 3, 8, 16, 16)


def test_unknown_modality(tiny):
    with pytest.raises(ValueError, match='modality'):
        build(modality='RGB', pipeline=[], **tiny)


def read_ntu_skeleton(path: Path, num_person: int = 2) -> np.ndarray:
    """``(M, T, 25, 3)`` xyz in metres from an NTU ``.skeleton`` file."""
    lines = iter(path.read_text().splitlines())
    num_frames = int(next(lines))
    keypoint = np.zeros((num_person, num_frames, 25, 3), np.float32)
    for t in range(num_frames):
        for body in range(int(next(lines))):
            next(lines)  # body info
            for joint in range(int(next(lines))):
                xyz = [float(v) for v in next(lines).split()[:3]]
                if body < num_person:
                    keypoint[body, t, joint] = xyz
    return keypoint


@pytest.mark.parametrize('test_mode', [False, True])
def test_real_ntu_sample(tmp_path, test_mode):
    keypoint = read_ntu_skeleton(NTU / f'{NTU_ID}.skeleton')
    info = dict(
        frame_dir=NTU_ID,
        label=0,
        total_frames=keypoint.shape[1],
        keypoint=keypoint,
        img_shape=(1080, 1920),
        original_shape=(1080, 1920),
        video=f'{NTU_ID}_rgb.avi')
    ann_file = write_annotations(tmp_path / 'ntu.pkl', [info],
                                 dict(xsub_train=[NTU_ID]))
    dataset = build(
        ann_file=ann_file,
        split='xsub_train',
        data_prefix=dict(video=str(NTU)),
        pipeline=pipeline(t_rgb=4, t_skel=32, test_mode=test_mode, size=32))
    item = dataset[0]
    rgb, skeleton = item['inputs']['rgb'], item['inputs']['skeleton']
    assert rgb.shape == (1, 3, 4, 32, 32) and rgb.dtype == torch.uint8
    assert skeleton.shape == (1, 2, 32, 25, 3)
    assert torch.all(skeleton[:, 1] == 0), 'one actor: body 2 is padding'
    assert skeleton[:, 0].min() > 0 and skeleton[:, 0].max() < 1
    # Same window: both modalities start and end within one RGB segment
    # (103 / 4 frames) of each other.
    rgb_inds = item['data_samples'].RGB_inds
    pose_inds = item['data_samples'].Pose_inds
    assert abs(int(rgb_inds[0]) - int(pose_inds[0])) < 103 / 4
    assert abs(int(rgb_inds[-1]) - int(pose_inds[-1])) < 103 / 4


def docstring_pipelines() -> dict:
    """``train_pipeline`` and ``test_pipeline`` from the dataset docstring."""
    doc = DATASETS.get('RGBSkeletonDataset').__doc__
    start = doc.rindex('\n', 0, doc.index('train_pipeline = ['))
    code = textwrap.dedent(doc[start:doc.index('dataset = dict(')])
    namespace = dict()
    exec(code, namespace)
    return namespace


@pytest.mark.parametrize('name', ['train_pipeline', 'test_pipeline'])
def test_docstring_pipelines_run_on_real_ntu(tmp_path, name):
    keypoint = read_ntu_skeleton(NTU / f'{NTU_ID}.skeleton')
    info = dict(
        frame_dir=NTU_ID,
        label=0,
        total_frames=keypoint.shape[1],
        keypoint=keypoint,
        img_shape=(1080, 1920),
        original_shape=(1080, 1920),
        video=f'{NTU_ID}_rgb.avi')
    ann_file = write_annotations(tmp_path / 'ntu.pkl', [info],
                                 dict(xsub_train=[NTU_ID]))
    dataset = build(
        ann_file=ann_file,
        split='xsub_train',
        data_prefix=dict(video=str(NTU)),
        pipeline=docstring_pipelines()[name])
    inputs = dataset[0]['inputs']
    assert inputs['rgb'].shape == (1, 3, 32, 224, 224)
    assert inputs['rgb'].dtype == torch.uint8
    assert inputs['skeleton'].shape == (1, 2, 32, 25, 3)
    assert inputs['skeleton'].dtype == torch.float32
