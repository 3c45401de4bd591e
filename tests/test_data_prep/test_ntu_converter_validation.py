# Copyright (c) mmamr contributors. All rights reserved.
"""NTU converter input checks (issue 13): truncated videos, badly named
files, option errors before any work, empty splits."""
import importlib.util
import shutil
from pathlib import Path

import cv2
import pytest
import sample_data
from test_ntu_skeleton_file import pose, skeleton_text

import mmamr.data_prep.ntu_converter as ntu_converter
from mmamr.data_prep.ntu_converter import convert_ntu

ROOT = Path(__file__).resolve().parents[2]
NTU_DIR = sample_data.NTU_DIR
NAME = 'S001C001P001R001A001'
OTHER = 'S001C002P003R001A002'


def load_cli():
    spec = importlib.util.spec_from_file_location(
        'convert_ntu', ROOT / 'tools/data/ntu/convert_ntu.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


def write_skeleton(folder: Path, name: str, frames: int = 3) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f'{name}.skeleton'
    text = skeleton_text([[(1, pose(t, 0.1))] for t in range(frames)])
    path.write_bytes(text.encode('ascii'))
    return path


@pytest.fixture
def cut_video(tmp_path):
    """The real sample twice; the video of ``OTHER`` is its first half,
    as a copy interrupted mid-write leaves it."""
    if not (NTU_DIR / f'{NAME}_rgb.avi').is_file():
        pytest.fail(f'real NTU sample not found in {NTU_DIR}')
    skel, video = tmp_path / 'skeletons', tmp_path / 'videos'
    skel.mkdir()
    video.mkdir()
    for name in (NAME, OTHER):
        shutil.copy(NTU_DIR / f'{NAME}.skeleton', skel / f'{name}.skeleton')
    shutil.copy(NTU_DIR / f'{NAME}_rgb.avi', video / f'{NAME}_rgb.avi')
    data = (NTU_DIR / f'{NAME}_rgb.avi').read_bytes()
    cut = video / f'{OTHER}_rgb.avi'
    cut.write_bytes(data[:len(data) // 2])
    # The AVI header, written first, still promises every frame.
    cap = cv2.VideoCapture(str(cut))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 103
    cap.release()
    return skel, video, cut


def test_truncated_video_is_an_error_naming_it(cut_video, tmp_path):
    skel, video, cut = cut_video
    out = tmp_path / 'ntu.pkl'
    with pytest.raises(ValueError) as info:
        convert_ntu(str(skel), str(out), video_dir=str(video))
    msg = str(info.value)
    # The half file holds 27 frames (counted by decoding it).
    assert str(cut) in msg and '27 frames' in msg and '103' in msg
    assert not out.exists()


def test_truncated_video_is_skipped_with_skip_invalid(cut_video, tmp_path):
    skel, video, cut = cut_video
    out = tmp_path / 'ntu.pkl'
    data = convert_ntu(
        str(skel), str(out), video_dir=str(video), skip_invalid=True)
    assert [a['frame_dir'] for a in data['annotations']] == [NAME]
    assert [name for name, _ in data['skipped']] == [OTHER]
    report = Path(f'{out}.skipped.txt').read_text()
    assert report.startswith(f'{OTHER}\t') and str(cut) in report


def test_badly_named_file_is_an_error_or_a_listed_skip(tmp_path):
    skel = tmp_path / 'skel'
    write_skeleton(skel, NAME)
    bad = write_skeleton(skel, 'S001C001P001R001A01_copy')
    out = tmp_path / 'ntu.pkl'
    with pytest.raises(ValueError) as info:
        convert_ntu(str(skel), str(out))
    assert str(bad) in str(info.value)
    assert 'SsssCcccPpppRrrrAaaa' in str(info.value)
    assert not out.exists()
    data = convert_ntu(str(skel), str(out), skip_invalid=True)
    assert [a['frame_dir'] for a in data['annotations']] == [NAME]
    assert [name for name, _ in data['skipped']] == [bad.stem]
    report = Path(f'{out}.skipped.txt').read_text()
    assert report.startswith(f'{bad.stem}\t') and 'SsssCccc' in report


@pytest.mark.parametrize('max_bodies', [0, -1])
def test_max_bodies_below_one_fails_before_any_work(tmp_path, max_bodies):
    skel = tmp_path / 'skel'
    write_skeleton(skel, NAME)
    out = tmp_path / 'out' / 'ntu.pkl'
    with pytest.raises(ValueError, match=f'at least 1, got {max_bodies}'):
        convert_ntu(str(skel), str(out), max_bodies=max_bodies)
    assert not out.parent.exists()  # no work dir, no output folder


def test_cli_max_bodies_below_one_is_a_usage_error(tmp_path, capsys):
    skel = tmp_path / 'skel'
    write_skeleton(skel, NAME)
    out = tmp_path / 'out' / 'ntu.pkl'
    with pytest.raises(SystemExit) as info:
        load_cli().main([str(skel), str(out), '--max-bodies', '0'])
    assert info.value.code != 0
    assert '--max-bodies' in capsys.readouterr().err
    assert not out.parent.exists()


def test_missing_list_that_does_not_exist_is_an_error_naming_it(tmp_path):
    skel = tmp_path / 'skel'
    write_skeleton(skel, NAME)
    missing = tmp_path / 'no_such_list.txt'
    out = tmp_path / 'out' / 'ntu.pkl'
    with pytest.raises(ValueError) as info:
        convert_ntu(str(skel), str(out), missing_list=str(missing))
    assert str(missing) in str(info.value)
    assert 'not found' in str(info.value)
    assert not out.parent.exists()


def test_cli_reports_a_missing_list_without_a_traceback(tmp_path):
    skel = tmp_path / 'skel'
    write_skeleton(skel, NAME)
    missing = tmp_path / 'no_such_list.txt'
    with pytest.raises(SystemExit) as info:
        load_cli().main([
            str(skel),
            str(tmp_path / 'ntu.pkl'), '--missing-list',
            str(missing), '--no-progress'
        ])
    assert isinstance(info.value.code, str)  # sys.exit('error: ...')
    assert str(missing) in info.value.code


def test_empty_splits_are_explained():
    split = dict(
        xsub_train=[NAME], xsub_val=[], xview_train=[], xview_val=[NAME])
    reasons = ntu_converter.empty_split_reasons(split)
    assert sorted(reasons) == ['xsub_val', 'xview_train']
    assert 'test subject' in reasons['xsub_val']
    assert 'P003' in reasons['xsub_val']  # an example of such a subject
    assert 'C002' in reasons['xview_train']
    assert ntu_converter.empty_split_reasons(dict(xsub_train=[NAME])) == {}
