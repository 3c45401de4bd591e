# Copyright (c) mmamr contributors. All rights reserved.
"""The NTU converter re-encodes videos to short side 256 unless told
otherwise; without an output video folder nothing changes (the
quickstart's path)."""
import importlib.util

import pytest
import sample_data
from test_ntu_converter import ROOT, write_skeletons, write_video

from mmamr.data_prep.conversion import read_video_info
from mmamr.data_prep.ntu_converter import convert_ntu

NAME = 'S001C001P001R001A001'
FRAMES = 12


@pytest.fixture
def real_sample(tmp_path):
    """The real 1920 x 1080 NTU sample, once."""
    skel, video = tmp_path / 'skeletons', tmp_path / 'videos'
    skel.mkdir()
    video.mkdir()
    (skel / f'{NAME}.skeleton').symlink_to(sample_data.NTU_DIR /
                                           f'{NAME}.skeleton')
    (video / f'{NAME}_rgb.avi').symlink_to(sample_data.NTU_DIR /
                                           f'{NAME}_rgb.avi')
    return skel, video


@pytest.fixture
def small_sample(tmp_path):
    """A 96 x 64 video and its skeleton: re-encoding takes milliseconds."""
    skel = write_skeletons(tmp_path / 'skeletons',
                           {NAME: [[(1, 0.1)]] * FRAMES})
    video = tmp_path / 'videos'
    video.mkdir()
    write_video(video / f'{NAME}_rgb.avi', FRAMES, size=(64, 96))
    return skel, video


def test_1080p_videos_become_short_side_256_by_default(real_sample, tmp_path):
    skel, video = real_sample
    out = tmp_path / 'small'
    data = convert_ntu(
        str(skel),
        str(tmp_path / 'ntu.pkl'),
        video_dir=str(video),
        out_video_dir=str(out))
    ann = data['annotations'][0]
    # What the configs' Resize(-1, 256) expects: 456 x 256 (even width).
    assert ann['img_shape'] == (256, 456)
    assert ann['original_shape'] == (1080, 1920)
    assert read_video_info(str(out / ann['video'])) == (103, 256, 456)


def test_short_side_none_keeps_the_size(small_sample, tmp_path):
    skel, video = small_sample
    data = convert_ntu(
        str(skel),
        str(tmp_path / 'ntu.pkl'),
        video_dir=str(video),
        out_video_dir=str(tmp_path / 'out'),
        short_side=None)
    assert data['annotations'][0]['img_shape'] == (64, 96)


def test_without_output_folder_the_originals_are_used_as_before(
        small_sample, tmp_path):
    skel, video = small_sample
    work = tmp_path / 'work'
    data = convert_ntu(
        str(skel),
        str(tmp_path / 'a.pkl'),
        video_dir=str(video),
        work_dir=str(work),
        keep_work_dir=True)
    ann = data['annotations'][0]
    assert ann['video'] == f'{NAME}_rgb.avi'
    assert ann['img_shape'] == ann['original_shape'] == (64, 96)
    # The options recorded in the work dir are those of short_side=None,
    # the old default: conversions cached before (the quickstart's) are
    # reused, not refused as made with other options.
    again = convert_ntu(
        str(skel),
        str(tmp_path / 'b.pkl'),
        video_dir=str(video),
        short_side=None,
        work_dir=str(work))
    assert again['annotations'][0]['video'] == ann['video']
    with pytest.raises(ValueError, match='short_side needs out_video_dir'):
        convert_ntu(
            str(skel),
            str(tmp_path / 'c.pkl'),
            video_dir=str(video),
            short_side=128)


@pytest.fixture(scope='module')
def cli():
    spec = importlib.util.spec_from_file_location(
        'mmamr_convert_ntu',
        ROOT / 'tools' / 'data' / 'ntu' / 'convert_ntu.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('flags, shape',
                         [([], (256, 384)), (['--short-side', '0'], (64, 96)),
                          (['--short-side', '128'], (128, 192))])
def test_cli_short_side(cli, small_sample, tmp_path, flags, shape):
    skel, video = small_sample
    out = tmp_path / 'out'
    cli.main([
        str(skel),
        str(tmp_path / 'ntu.pkl'), '--video-dir',
        str(video), '--out-video-dir',
        str(out), *flags
    ])
    assert read_video_info(str(out / f'{NAME}_rgb.mp4')) == (FRAMES, *shape)


@pytest.mark.parametrize('flags, message', [
    (['--short-side', '128'], 'needs --out-video-dir'),
    (['--short-side', '-1', '--out-video-dir', 'x'], 'give a size'),
])
def test_cli_refuses_a_short_side_it_cannot_apply(cli, small_sample, tmp_path,
                                                  flags, message):
    skel, video = small_sample
    with pytest.raises(SystemExit, match=message):
        cli.main([
            str(skel),
            str(tmp_path / 'ntu.pkl'), '--video-dir',
            str(video), *flags
        ])
