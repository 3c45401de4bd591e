# Copyright (c) mmamr contributors. All rights reserved.
"""NTU raw files -> mmaction2 pickle: fields, splits, videos, atomicity."""
import importlib.util
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmamr.datasets.ntu_converter import (build_splits, convert_ntu,
                                          parse_sample_name, read_missing_list)

ROOT = Path(__file__).resolve().parents[2]
NTU_DIR = ROOT.parent / 'shared/data/ntu'
NAME = 'S001C001P001R001A001'
# Subject 3 is an X-Sub val subject, camera 2 an X-View train camera.
OTHER = 'S001C002P003R001A002'
MISSING = NTU_DIR / 'NTU_RGBD_samples_with_missing_skeletons.txt'


@pytest.fixture
def ntu(tmp_path):
    """Skeleton and video folders holding the real sample twice."""
    if not (NTU_DIR / f'{NAME}.skeleton').is_file():
        pytest.skip(f'real NTU sample not found in {NTU_DIR}')
    skel, video = tmp_path / 'skeletons', tmp_path / 'videos'
    skel.mkdir()
    video.mkdir()
    for name in (NAME, OTHER):
        (skel / f'{name}.skeleton').symlink_to(NTU_DIR / f'{NAME}.skeleton')
        (video / f'{name}_rgb.avi').symlink_to(NTU_DIR / f'{NAME}_rgb.avi')
    return skel, video


def write_video(path: Path, num_frames: int, size=(32, 48)) -> None:
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*'MJPG'), 30, size[::-1])
    for _ in range(num_frames):
        writer.write(np.zeros((*size, 3), np.uint8))
    writer.release()


def test_real_sample_with_its_video(ntu, tmp_path):
    skel, video = ntu
    out = tmp_path / 'ntu.pkl'
    data = convert_ntu(str(skel), str(out), video_dir=str(video))
    with open(out, 'rb') as f:
        assert pickle.load(f)['split'] == data['split']
    ann = {a['frame_dir']: a for a in data['annotations']}[NAME]
    assert ann['label'] == 0 and ann['total_frames'] == 103
    assert ann['keypoint'].shape == (2, 103, 25, 3)
    assert ann['keypoint'].dtype == np.float32
    assert ann['keypoint_2d'].shape == (2, 103, 25, 2)
    assert ann['keypoint_score'].shape == (2, 103, 25)
    assert ann['img_shape'] == ann['original_shape'] == (1080, 1920)
    assert ann['video'] == f'{NAME}_rgb.avi'
    np.testing.assert_allclose(ann['keypoint_2d'][0, 0, 0],
                               [1036.233, 519.1677])
    assert data['split'] == dict(
        xsub_train=[NAME],
        xsub_val=[OTHER],
        xview_train=[OTHER],
        xview_val=[NAME])


def test_without_videos_there_is_no_video_key(ntu, tmp_path):
    data = convert_ntu(str(ntu[0]), str(tmp_path / 'ntu.pkl'))
    ann = data['annotations'][0]
    assert 'video' not in ann and ann['img_shape'] == (1080, 1920)
    assert data['annotations'][1]['label'] == 1  # A002


def test_parallel_conversion_keeps_order(ntu, tmp_path):
    serial = convert_ntu(str(ntu[0]), str(tmp_path / 'a.pkl'))
    parallel = convert_ntu(str(ntu[0]), str(tmp_path / 'b.pkl'), workers=2)
    assert serial['split'] == parallel['split']
    for a, b in zip(serial['annotations'], parallel['annotations']):
        np.testing.assert_array_equal(a['keypoint'], b['keypoint'])


def test_splits_follow_the_ntu_protocols():
    names = [
        'S001C001P001R001A001', 'S001C002P003R002A010', 'S017C003P038R001A060',
        'S002C001P040R001A050'
    ]
    split = build_splits(names)
    assert split['xsub_train'] == [names[0], names[2]]
    assert split['xsub_val'] == [names[1], names[3]]
    assert split['xview_train'] == [names[1], names[2]]
    assert split['xview_val'] == [names[0], names[3]]
    assert parse_sample_name(names[2]) == dict(
        setup=17, camera=3, subject=38, replication=1, action=60)
    with pytest.raises(ValueError, match='not an NTU sample name'):
        parse_sample_name('S1C1P1R1A1')


def test_missing_list_plain_and_with_official_header(tmp_path):
    if not MISSING.is_file():
        pytest.skip(f'missing-skeleton list not found at {MISSING}')
    plain = read_missing_list(str(MISSING))
    assert len(plain) == 302 and 'S001C002P005R002A008' in plain
    official = tmp_path / 'official.txt'
    official.write_text(
        'The following 302 samples in NTU RGB+D have missing skeletons:\n'
        '(they must be ignored in skeleton-based evaluation)\n\n' +
        MISSING.read_text())
    assert read_missing_list(str(official)) == plain


def test_missing_list_with_garbage_after_names_raises(tmp_path):
    path = tmp_path / 'missing.txt'
    path.write_text(f'header\n{NAME}\nnot a name\n')
    with pytest.raises(ValueError, match=r'missing.txt: line 3: expected'):
        read_missing_list(str(path))


def test_samples_in_the_missing_list_are_skipped(ntu, tmp_path):
    missing = tmp_path / 'missing.txt'
    missing.write_text(f'header line 1\nheader line 2\n\n{OTHER}\n')
    data = convert_ntu(
        str(ntu[0]), str(tmp_path / 'ntu.pkl'), missing_list=str(missing))
    assert [a['frame_dir'] for a in data['annotations']] == [NAME]


def test_crash_while_writing_leaves_no_pickle_and_no_temp(
        ntu, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    out.mkdir()

    def crash(obj, f, *args, **kwargs):
        f.write(b'half a pickle')
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, 'dump', crash)
    with pytest.raises(KeyboardInterrupt):
        convert_ntu(str(ntu[0]), str(out / 'ntu.pkl'))
    assert os.listdir(out) == []
    # An earlier complete pickle survives a failed rewrite untouched.
    (out / 'ntu.pkl').write_bytes(b'old')
    with pytest.raises(KeyboardInterrupt):
        convert_ntu(str(ntu[0]), str(out / 'ntu.pkl'))
    assert os.listdir(out) == ['ntu.pkl']
    assert (out / 'ntu.pkl').read_bytes() == b'old'


def test_video_shorter_than_skeleton_raises(ntu, tmp_path):
    skel, video = ntu
    short = video / f'{OTHER}_rgb.avi'
    short.unlink()
    write_video(short, 10)
    with pytest.raises(ValueError) as info:
        convert_ntu(str(skel), str(tmp_path / 'x.pkl'), video_dir=str(video))
    msg = str(info.value)
    assert str(short) in msg and '10 frames' in msg and '103' in msg
    assert not (tmp_path / 'x.pkl').exists()


def test_longer_video_is_accepted_and_gives_img_shape(ntu, tmp_path):
    skel, video = ntu
    longer = video / f'{OTHER}_rgb.avi'
    longer.unlink()
    write_video(longer, 110)
    data = convert_ntu(
        str(skel), str(tmp_path / 'x.pkl'), video_dir=str(video))
    ann = {a['frame_dir']: a for a in data['annotations']}[OTHER]
    assert ann['total_frames'] == 103 and ann['img_shape'] == (32, 48)


def test_missing_video_raises(ntu, tmp_path):
    skel, video = ntu
    (video / f'{OTHER}_rgb.avi').unlink()
    with pytest.raises(ValueError, match=f'{OTHER}_rgb.avi.*not found'):
        convert_ntu(str(skel), str(tmp_path / 'x.pkl'), video_dir=str(video))


def test_malformed_file_error_reaches_the_caller_from_a_worker(ntu, tmp_path):
    bad = ntu[0] / 'S001C001P002R001A001.skeleton'
    bad.write_bytes(b'2\r\n0\r\n')
    with pytest.raises(ValueError, match=f'{bad}: line 3'):
        convert_ntu(str(ntu[0]), str(tmp_path / 'x.pkl'), workers=2)


def test_cli_prints_split_sizes(ntu, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'convert_ntu', ROOT / 'tools/data/ntu/convert_ntu.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = tmp_path / 'ntu.pkl'
    cli.main([
        str(ntu[0]),
        str(out), '--video-dir',
        str(ntu[1]), '--workers', '1', '--no-progress'
    ])
    printed = capsys.readouterr().out
    assert 'xsub_train: 1' in printed and 'xview_val: 1' in printed
    assert out.is_file()
