# Copyright (c) mmamr contributors. All rights reserved.
"""iMiGUE -> annotation pickle and clip videos, on the real clip 1 of video
298 (labels row, OpenPose frames) and a generated long video (conftest)."""
import importlib.util
import json
import os
import pickle
from pathlib import Path

import decord
import imigue_sample
import numpy as np
import pytest
from imigue_sample import (IMIGUE, LONG_SHAPE, own_pose_copy, read_code,
                           write_long_video)

import mmamr.data_prep.imigue_converter as imigue_converter
from mmamr.data_prep.conversion import read_video_info
from mmamr.data_prep.formats.openpose_json import read_openpose_frame
from mmamr.data_prep.imigue_converter import convert_imigue

ROOT = Path(__file__).resolve().parents[2]
imigue_video = pytest.fixture(
    scope='module', name='imigue_video')(
        imigue_sample.long_video)
imigue_raw = pytest.fixture(name='imigue_raw')(imigue_sample.raw_layout)


def convert(raw: dict, **kwargs) -> dict:
    """convert_imigue on ``raw``, with its videos unless told otherwise."""
    kwargs.setdefault('video_dir', str(raw['videos']))
    if kwargs['video_dir'] is not None:
        kwargs.setdefault('out_video_dir', str(raw['clips']))
    return convert_imigue(
        str(raw['labels']), str(raw['pose']), str(raw['out']), **kwargs)


def real_keypoints(start=168, end=257) -> np.ndarray:
    """``(T, 25, 3)`` straight from the JSON files."""
    return np.stack([
        read_openpose_frame(IMIGUE /
                            f'openpose_298/298_{t:012d}_keypoints.json')[0]
        for t in range(start, end + 1)
    ])


def test_real_clip_becomes_a_sample_and_a_clip_video(imigue_raw):
    data = convert(imigue_raw, short_side=256)
    with open(imigue_raw['out'], 'rb') as f:
        written = pickle.load(f)
    assert written['split'] == data['split'] == dict(
        xsub_train=['0298_0001', '0298_0002'], xsub_test=[])
    ann = written['annotations'][0]
    assert ann['frame_dir'] == '0298_0001' and ann['label'] == 3
    assert ann['total_frames'] == 90
    assert ann['keypoint'].shape == (1, 90, 25, 2)
    assert ann['keypoint'].dtype == ann['keypoint_score'].dtype == np.float32
    assert ann['keypoint_score'].shape == (1, 90, 25)
    # 768 x 720 -> short side 256: 273.07 rounded to an even 274.
    assert ann['img_shape'] == (256, 274)
    assert ann['original_shape'] == LONG_SHAPE
    assert (ann['video_id'], ann['subject_id']) == (298, 22)
    assert (ann['start_frame'], ann['end_frame']) == (168, 257)
    raw = real_keypoints()
    np.testing.assert_allclose(ann['keypoint_score'][0], raw[..., 2])
    scale = np.array([274 / 768, 256 / 720], np.float32)
    np.testing.assert_allclose(
        ann['keypoint'][0], raw[..., :2] * scale, rtol=1e-6)
    # Undetected joints stay exact zeros (padding for NormalizeSkeleton).
    assert (ann['keypoint'][0][raw[..., 2] == 0] == 0).all()
    assert ann['video'] == '0298_0001.mp4'


def test_clip_videos_hold_exactly_their_frames(imigue_raw):
    data = convert(imigue_raw, short_side=128)
    assert sorted(os.listdir(
        imigue_raw['clips'])) == ['0298_0001.mp4', '0298_0002.mp4']
    for ann in data['annotations']:
        path = str(imigue_raw['clips'] / ann['video'])
        assert read_video_info(path) == (ann['total_frames'], 128, 136)
        reader = decord.VideoReader(path)
        frames = [
            read_code(reader[i].asnumpy()[..., ::-1])
            for i in range(len(reader))
        ]
        assert frames == list(range(ann['start_frame'], ann['end_frame'] + 1))


def test_without_videos_keypoints_stay_in_source_pixels(imigue_raw):
    data = convert(imigue_raw, video_dir=None, img_shape=(720, 1280))
    ann = data['annotations'][0]
    assert 'video' not in ann
    assert ann['img_shape'] == ann['original_shape'] == (720, 1280)
    np.testing.assert_allclose(ann['keypoint'][0], real_keypoints()[..., :2])
    with pytest.raises(ValueError, match='give img_shape'):
        convert(imigue_raw, video_dir=None)
    with pytest.raises(ValueError, match='out_video_dir needs video_dir'):
        convert(
            imigue_raw,
            video_dir=None,
            img_shape=(720, 1280),
            out_video_dir=str(imigue_raw['clips']))


def test_more_persons_pad_with_zero_scores(imigue_raw):
    data = convert(
        imigue_raw, video_dir=None, img_shape=(720, 1280), max_persons=2)
    ann = data['annotations'][0]
    assert ann['keypoint'].shape == (2, 90, 25, 2)
    assert not ann['keypoint'][1].any() and not ann['keypoint_score'][1].any()


def test_frames_without_people_are_zeros(imigue_raw):
    pose = own_pose_copy(imigue_raw)
    for t in (170, 171):
        (pose / f'298_{t:012d}_keypoints.json').write_text(
            json.dumps(dict(version=1.3, people=[])))
    ann = convert(
        imigue_raw, video_dir=None, img_shape=(720, 1280))['annotations'][0]
    assert not ann['keypoint'][0, 2:4].any()
    assert not ann['keypoint_score'][0, 2:4].any()
    assert ann['keypoint_score'][0, [1, 4]].any()


def test_frame_with_other_keypoint_count_raises_or_is_skipped(imigue_raw):
    pose = own_pose_copy(imigue_raw)
    bad = pose / '298_000000000240_keypoints.json'  # only in clip 1
    frame = json.loads(bad.read_text())
    frame['people'][0]['pose_keypoints_2d'] = [1.0] * 54  # COCO-18
    bad.write_text(json.dumps(frame))
    with pytest.raises(ValueError, match=f'{bad}: person 0 has 54'):
        convert(imigue_raw)
    assert not imigue_raw['out'].exists()
    data = convert(imigue_raw, skip_invalid=True)
    assert [a['frame_dir'] for a in data['annotations']] == ['0298_0002']
    assert [name for name, _ in data['skipped']] == ['0298_0001']
    report = Path(f'{imigue_raw["out"]}.skipped.txt').read_text()
    assert report.startswith('0298_0001\t') and '54' in report
    # No video for the skipped clip.
    assert os.listdir(imigue_raw['clips']) == ['0298_0002.mp4']


def test_missing_frame_raises(imigue_raw):
    pose = own_pose_copy(imigue_raw)
    (pose / '298_000000000210_keypoints.json').unlink()
    with pytest.raises(
            ValueError, match=f'{pose}: no OpenPose JSON for '
            'frame 210'):
        convert(imigue_raw)


def test_clip_where_nobody_is_ever_detected_raises(imigue_raw):
    pose = own_pose_copy(imigue_raw)
    for t in range(200, 231):  # all of clip 2
        (pose / f'298_{t:012d}_keypoints.json').write_text(
            json.dumps(dict(version=1.3, people=[])))
    with pytest.raises(
            ValueError,
            match='nobody detected in any of the 31 '
            'frames of clip 0298_0002'):
        convert(imigue_raw)


def test_row_ending_before_it_starts_raises_or_is_skipped(imigue_raw):
    labels = imigue_raw['labels']
    labels.write_text(labels.read_text() +
                      '298,3,9.0,225,8.0,200,8,22,M,United States,Win\n')
    with pytest.raises(
            ValueError,
            match=r'labels.csv: line 4: end_frame '
            '200 precedes start_frame 225'):
        convert(imigue_raw)
    data = convert(imigue_raw, skip_invalid=True)
    assert data['num_samples'] == 2
    assert [name for name, _ in data['skipped']] == ['298_3']


def test_video_shorter_than_a_clip_raises_or_is_skipped(imigue_raw):
    short = imigue_raw['videos'] / '298.mp4'
    short.unlink()
    write_long_video(short, 240)  # clip 1 needs frames up to 257
    with pytest.raises(ValueError) as info:
        convert(imigue_raw)
    assert str(short) in str(info.value)
    assert 'video has 240 frames, clip 0298_0001 needs frames 168-257' in str(
        info.value)
    data = convert(imigue_raw, skip_invalid=True)
    assert [a['frame_dir'] for a in data['annotations']] == ['0298_0002']
    assert [name for name, _ in data['skipped']] == ['0298_0001']
    # The half-written clip was dropped, the other one kept.
    assert os.listdir(imigue_raw['clips']) == ['0298_0002.mp4']


def test_video_at_another_frame_rate_is_refused(imigue_raw):
    video = imigue_raw['videos'] / '298.mp4'
    video.unlink()
    write_long_video(video, 5, fps=30)
    with pytest.raises(ValueError, match='30 fps, but iMiGUE frame numbers'):
        convert(imigue_raw)
    # Skipping a whole video counts all its clips.
    data = convert(imigue_raw, skip_invalid=True)
    assert [n for n, _ in data['skipped']] == ['0298_0001', '0298_0002']
    assert data['num_samples'] == 0


def test_keypoints_outside_the_video_frame_are_refused(imigue_raw):
    video = imigue_raw['videos'] / '298.mp4'
    video.unlink()
    write_long_video(video, 5, shape=(240, 320))
    with pytest.raises(ValueError, match='outside the 320 x 240 frame'):
        convert(imigue_raw)


def test_interrupted_run_resumes_per_video(imigue_raw, monkeypatch):
    # A second video (999, a test subject) with the same frames.
    (imigue_raw['pose'] / '999').symlink_to(imigue_raw['pose'] / '298')
    (imigue_raw['videos'] / '999.mp4').symlink_to(imigue_raw['videos'] /
                                                  '298.mp4')
    labels = imigue_raw['labels']
    labels.write_text(labels.read_text() +
                      '999,1,8.0,200,9.0,225,99,1,F,France,Lose\n')
    real = imigue_converter.convert_video
    calls = []

    def interrupted(job):
        calls.append(job.video_id)
        if job.video_id == 999 and len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second video
        return real(job)

    monkeypatch.setattr(imigue_converter, 'convert_video', interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert(imigue_raw, video_dir=None, img_shape=(720, 1280))
    assert not imigue_raw['out'].exists()
    calls.clear()
    data = convert(imigue_raw, video_dir=None, img_shape=(720, 1280))
    assert calls == [999]  # video 298 was not redone
    assert data['split'] == dict(
        xsub_train=['0298_0001', '0298_0002'], xsub_test=['0999_0001'])
    assert data['annotations'][2]['label'] == 31  # class 99
    assert sorted(os.listdir(imigue_raw['out'].parent)) == ['imigue.pkl']


def test_parallel_conversion_matches_serial(imigue_raw, tmp_path):
    (imigue_raw['pose'] / '999').symlink_to(imigue_raw['pose'] / '298')
    labels = imigue_raw['labels']
    labels.write_text(labels.read_text() +
                      '999,1,8.0,200,9.0,225,99,1,F,France,Lose\n')
    kwargs = dict(video_dir=None, img_shape=(720, 1280))
    serial = convert(imigue_raw, **kwargs)
    parallel = convert_imigue(
        str(labels),
        str(imigue_raw['pose']),
        str(tmp_path / 'p.pkl'),
        workers=2,
        **kwargs)
    assert serial['split'] == parallel['split']
    for a, b in zip(serial['annotations'], parallel['annotations']):
        np.testing.assert_array_equal(a['keypoint'], b['keypoint'])


def test_cli_prints_split_sizes(imigue_raw, capsys):
    spec = importlib.util.spec_from_file_location(
        'convert_imigue', ROOT / 'tools/data/imigue/convert_imigue.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main([
        str(imigue_raw['labels']),
        str(imigue_raw['pose']),
        str(imigue_raw['out']), '--img-shape', '720', '1280', '--workers', '1',
        '--no-progress'
    ])
    printed = capsys.readouterr().out
    assert '2 samples' in printed and 'xsub_train: 2' in printed
    assert 'xsub_test: 0' in printed and imigue_raw['out'].is_file()


def add_video_999(raw: dict) -> None:
    """A second long video (999, a test subject) with the same frames."""
    (raw['pose'] / '999').symlink_to(raw['pose'] / '298')
    raw['labels'].write_text(raw['labels'].read_text() +
                             '999,1,8.0,200,9.0,225,99,1,F,France,Lose\n')


def test_work_dir_in_the_openpose_folder_keeps_it(imigue_raw):
    pose = imigue_raw['pose']
    data = convert(
        imigue_raw, video_dir=None, img_shape=(720, 1280), work_dir=str(pose))
    assert data['num_samples'] == 2
    assert os.listdir(pose) == ['298']
    assert len(os.listdir(pose / '298')) == len(os.listdir(imigue_sample.POSE))


def test_edited_label_rows_redo_only_their_video(imigue_raw, monkeypatch):
    add_video_999(imigue_raw)
    kwargs = dict(video_dir=None, img_shape=(720, 1280), keep_work_dir=True)
    convert(imigue_raw, **kwargs)
    real = imigue_converter.convert_video
    calls = []
    monkeypatch.setattr(imigue_converter, 'convert_video',
                        lambda job: calls.append(job.video_id) or real(job))
    labels = imigue_raw['labels']
    # Clip 0298_0002: class 8 -> 99 (label 31), subject 22 (training) ->
    # 1 (test).
    edited = imigue_sample.OVERLAP_ROW.replace(',8,22,', ',99,1,')
    labels.write_text(labels.read_text().replace(imigue_sample.OVERLAP_ROW,
                                                 edited))
    data = convert(imigue_raw, overwrite=True, **kwargs)
    assert calls == [298]  # video 999 is unchanged: its output is reused
    anns = {a['frame_dir']: a for a in data['annotations']}
    assert (anns['0298_0002']['label'],
            anns['0298_0002']['subject_id']) == (31, 1)
    assert data['split'] == dict(
        xsub_train=['0298_0001'], xsub_test=['0298_0002', '0999_0001'])
    # Other frames of a clip are another clip.
    calls.clear()
    labels.write_text(labels.read_text().replace('999,1,8.0,200,9.0,225,',
                                                 '999,1,8.0,201,9.0,220,'))
    data = convert(imigue_raw, overwrite=True, **kwargs)
    assert calls == [999]
    anns = {a['frame_dir']: a for a in data['annotations']}
    assert (anns['0999_0001']['start_frame'],
            anns['0999_0001']['total_frames']) == (201, 20)
    np.testing.assert_allclose(anns['0999_0001']['keypoint'][0],
                               real_keypoints(201, 220)[..., :2])


def test_an_existing_pickle_is_refused_before_any_work(imigue_raw,
                                                       monkeypatch):
    out = imigue_raw['out']
    out.parent.mkdir()
    out.write_bytes(b'old')
    calls = []
    monkeypatch.setattr(imigue_converter, 'convert_video', calls.append)
    with pytest.raises(FileExistsError, match=f'{out}.*overwrite'):
        convert(imigue_raw)
    assert calls == [] and out.read_bytes() == b'old'
    assert os.listdir(out.parent) == ['imigue.pkl']  # no work dir, no clip
    monkeypatch.undo()
    data = convert(imigue_raw, overwrite=True)
    with open(out, 'rb') as f:
        assert len(pickle.load(f)['annotations']) == data['num_samples'] == 2


def test_cli_refuses_an_existing_pickle_unless_overwrite(imigue_raw):
    spec = importlib.util.spec_from_file_location(
        'convert_imigue', ROOT / 'tools/data/imigue/convert_imigue.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = imigue_raw['out']
    out.parent.mkdir()
    out.write_bytes(b'old')
    argv = [
        str(imigue_raw['labels']),
        str(imigue_raw['pose']),
        str(out), '--img-shape', '720', '1280', '--no-progress'
    ]
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert str(out) in str(info.value) and '--overwrite' in str(info.value)
    assert out.read_bytes() == b'old'
    cli.main(argv + ['--overwrite'])
    with open(out, 'rb') as f:
        assert len(pickle.load(f)['annotations']) == 2
