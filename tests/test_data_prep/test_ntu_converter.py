# Copyright (c) mmamr contributors. All rights reserved.
"""NTU raw files -> mmaction2 pickle: fields, splits, videos, bodies,
resumability and atomicity."""
import importlib.util
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import sample_data
from test_ntu_skeleton_file import pose, skeleton_text

import mmamr.data_prep.ntu_converter as ntu_converter
from mmamr.data_prep.conversion import read_video_info
from mmamr.data_prep.ntu_converter import (build_splits, convert_ntu,
                                           parse_sample_name,
                                           read_missing_list)

ROOT = Path(__file__).resolve().parents[2]
NTU_DIR = sample_data.NTU_DIR
NAME = 'S001C001P001R001A001'
# Subject 3 is an X-Sub val subject, camera 2 an X-View train camera.
OTHER = 'S001C002P003R001A002'
MISSING = NTU_DIR / 'NTU_RGBD_samples_with_missing_skeletons.txt'
SCRATCH = '.mmamr_conversion'  # the converter's files in its work dir


@pytest.fixture
def ntu(tmp_path):
    """Skeleton and video folders holding the real sample twice."""
    if not (NTU_DIR / f'{NAME}.skeleton').is_file():
        pytest.fail(f'real NTU sample not found in {NTU_DIR}')
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


def write_skeletons(folder: Path, samples) -> Path:
    """``samples``: name -> frames, each a list of ``(body_id, amp)``."""
    folder.mkdir(exist_ok=True)
    for name, frames in samples.items():
        text = skeleton_text([[(b, pose(t, amp)) for b, amp in bodies]
                              for t, bodies in enumerate(frames)])
        (folder / f'{name}.skeleton').write_bytes(text.encode('ascii'))
    return folder


def tree(folder: Path):
    """Every path under ``folder``, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*'))


def test_real_sample_with_its_video(ntu, tmp_path):
    skel, video = ntu
    out = tmp_path / 'ntu.pkl'
    data = convert_ntu(str(skel), str(out), video_dir=str(video))
    with open(out, 'rb') as f:
        written = pickle.load(f)
    assert written['split'] == data['split'] and data['num_samples'] == 2
    ann = {a['frame_dir']: a for a in written['annotations']}[NAME]
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
    # Success leaves the pickle and nothing else.
    assert sorted(os.listdir(tmp_path)) == ['ntu.pkl', 'skeletons', 'videos']


def test_without_videos_there_is_no_video_key(ntu, tmp_path):
    data = convert_ntu(str(ntu[0]), str(tmp_path / 'ntu.pkl'))
    ann = data['annotations'][0]
    assert 'video' not in ann and ann['img_shape'] == (1080, 1920)
    assert data['annotations'][1]['label'] == 1  # A002


def test_resized_videos_keep_2d_keypoints_on_the_new_frame(ntu, tmp_path):
    skel, video = ntu
    small = tmp_path / 'small'
    data = convert_ntu(
        str(skel),
        str(tmp_path / 'ntu.pkl'),
        video_dir=str(video),
        out_video_dir=str(small),
        short_side=128)
    full = convert_ntu(
        str(skel), str(tmp_path / 'full.pkl'), video_dir=str(video))
    ann, ref = data['annotations'][0], full['annotations'][0]
    # 1920 x 1080 -> 227.6 x 128, rounded to an even width as ffmpeg's -2.
    assert ann['img_shape'] == (128, 228)
    assert ann['original_shape'] == (1080, 1920)
    assert ann['video'] == f'{NAME}_rgb.mp4'
    assert read_video_info(str(small / ann['video'])) == (103, 128, 228)
    scale = np.array([228 / 1920, 128 / 1080], np.float32)
    np.testing.assert_allclose(ann['keypoint_2d'], ref['keypoint_2d'] * scale)
    np.testing.assert_array_equal(ann['keypoint'], ref['keypoint'])
    # Absent bodies stay exact zeros (padding) after scaling.
    assert not ann['keypoint_2d'][1].any()
    assert sorted(os.listdir(small)) == [f'{NAME}_rgb.mp4', f'{OTHER}_rgb.mp4']


def test_short_side_without_output_folder_is_an_error(ntu, tmp_path):
    with pytest.raises(ValueError, match='short_side needs out_video_dir'):
        convert_ntu(str(ntu[0]), str(tmp_path / 'x.pkl'), short_side=128)


def test_keypoint_2d_can_be_left_out(ntu, tmp_path):
    data = convert_ntu(
        str(ntu[0]), str(tmp_path / 'ntu.pkl'), with_keypoint_2d=False)
    assert all('keypoint_2d' not in a for a in data['annotations'])


def test_parallel_conversion_keeps_order(ntu, tmp_path):
    serial = convert_ntu(str(ntu[0]), str(tmp_path / 'a.pkl'))
    parallel = convert_ntu(str(ntu[0]), str(tmp_path / 'b.pkl'), workers=2)
    assert serial['split'] == parallel['split']
    for a, b in zip(serial['annotations'], parallel['annotations']):
        np.testing.assert_array_equal(a['keypoint'], b['keypoint'])


def test_two_person_actions_keep_both_bodies_and_extra_bodies_go(tmp_path):
    two = 'S001C001P001R001A050'  # A050-A060 are mutual actions
    crowd = 'S001C001P002R001A051'
    gaps = 'S001C001P003R001A001'
    skel = write_skeletons(
        tmp_path / 'skel',
        {
            two: [[(1, 0.2), (2, 0.1)]] * 5,
            # Two actors and two spurious, nearly still bodies.
            crowd: [[(7, 0.01), (8, 0.3), (9, 0.0), (10, 0.2)]] * 5,
            # Frames 1 and 3 have no body at all.
            gaps: [[(4, 0.2)], [], [(4, 0.2)], [], [(4, 0.2)]],
        })
    data = convert_ntu(str(skel), str(tmp_path / 'ntu.pkl'))
    anns = {a['frame_dir']: a for a in data['annotations']}
    assert anns[two]['label'] == 49
    assert (anns[two]['keypoint_score'] == 1).all()  # both bodies kept
    crowd_kp = anns[crowd]['keypoint']
    assert crowd_kp.shape == (2, 5, 25, 3)
    # The two most active bodies (amplitudes 0.3 and 0.2), in that order.
    for slot, amp in enumerate((0.3, 0.2)):
        expected = [pose(t, amp) for t in range(5)]
        np.testing.assert_allclose(crowd_kp[slot], expected, atol=1e-6)
    score = anns[gaps]['keypoint_score'][0, :, 0]
    np.testing.assert_array_equal(score, [1, 0, 1, 0, 1])
    assert not anns[gaps]['keypoint'][:, [1, 3]].any()


def test_file_without_any_body_is_an_error_or_a_counted_skip(tmp_path):
    empty, good = 'S001C001P001R001A001', 'S001C001P001R001A002'
    skel = write_skeletons(tmp_path / 'skel', {
        empty: [[], []],
        good: [[(1, 0.2)]] * 3
    })
    out = tmp_path / 'ntu.pkl'
    with pytest.raises(ValueError, match=f'{empty}.skeleton: no body'):
        convert_ntu(str(skel), str(out))
    assert not out.exists()
    data = convert_ntu(str(skel), str(out), skip_invalid=True)
    assert data['num_samples'] == 1
    assert [name for name, _ in data['skipped']] == [empty]
    report = Path(f'{out}.skipped.txt').read_text()
    assert report.startswith(f'{empty}\t') and 'no body' in report
    # A clean run removes the stale report.
    (skel / f'{empty}.skeleton').unlink()
    convert_ntu(str(skel), str(out), overwrite=True)
    assert not Path(f'{out}.skipped.txt').exists()


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
        pytest.fail(f'missing-skeleton list not found at {MISSING}')
    plain = read_missing_list(str(MISSING))
    assert len(plain) == 302 and 'S001C002P005R002A008' in plain
    # The shared copy is mmaction2's plain list; the official file adds a
    # three-line header.
    assert MISSING.read_text().split()[0] == 'S001C002P005R002A008'
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


def test_crash_while_assembling_keeps_the_old_pickle_and_the_work(
        ntu, tmp_path, monkeypatch):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'ntu.pkl').write_bytes(b'old')
    real_dumps = pickle.dumps
    calls = []

    def crash(obj, *args, **kwargs):
        # The first annotation spliced into the final pickle.
        if isinstance(obj, dict) and 'keypoint' in obj:
            raise KeyboardInterrupt
        return real_dumps(obj, *args, **kwargs)

    monkeypatch.setattr(pickle, 'dumps', crash)
    with pytest.raises(KeyboardInterrupt):
        convert_ntu(str(ntu[0]), str(out / 'ntu.pkl'), overwrite=True)
    # No temporary, the old pickle untouched, both samples in the work dir.
    assert (out / 'ntu.pkl').read_bytes() == b'old'
    work = f'ntu.pkl.work/{SCRATCH}'
    assert tree(out) == [
        'ntu.pkl', 'ntu.pkl.work', work, f'{work}/MMAMR_CONVERSION.json',
        f'{work}/{NAME}.pkl', f'{work}/{OTHER}.pkl', f'{work}/options.json'
    ]
    monkeypatch.setattr(pickle, 'dumps', real_dumps)
    real_convert = ntu_converter.convert_sample
    monkeypatch.setattr(
        ntu_converter, 'convert_sample',
        lambda *a, **k: calls.append(a) or real_convert(*a, **k))
    data = convert_ntu(str(ntu[0]), str(out / 'ntu.pkl'), overwrite=True)
    assert calls == [] and data['num_samples'] == 2  # nothing redone
    assert os.listdir(out) == ['ntu.pkl']


def test_interrupted_conversion_resumes_without_redoing_samples(
        tmp_path, monkeypatch):
    names = [f'S001C001P001R001A{a:03d}' for a in range(1, 6)]
    skel = write_skeletons(tmp_path / 'skel', {
        n: [[(1, 0.1 * i)]] * 4
        for i, n in enumerate(names, 1)
    })
    out = tmp_path / 'out' / 'ntu.pkl'
    real_convert = ntu_converter.convert_sample
    calls = []

    def interrupted(path, **kwargs):
        calls.append(Path(path).stem)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C during the third sample
        return real_convert(path, **kwargs)

    monkeypatch.setattr(ntu_converter, 'convert_sample', interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert_ntu(str(skel), str(out))
    assert not out.exists()
    work = f'ntu.pkl.work/{SCRATCH}'
    expected = ['ntu.pkl.work', work, f'{work}/MMAMR_CONVERSION.json']
    expected += [f'{work}/{n}.pkl' for n in names[:2]]
    assert tree(out.parent) == expected + [f'{work}/options.json']
    calls.clear()
    monkeypatch.setattr(
        ntu_converter, 'convert_sample', lambda path, **k: calls.append(
            Path(path).stem) or real_convert(path, **k))
    data = convert_ntu(str(skel), str(out))
    assert calls == names[2:]
    fresh = convert_ntu(str(skel), str(tmp_path / 'fresh.pkl'))
    assert [a['frame_dir'] for a in data['annotations']] == names
    for a, b in zip(data['annotations'], fresh['annotations']):
        np.testing.assert_array_equal(a['keypoint'], b['keypoint'])


def test_parallel_run_resumes_after_a_malformed_file_is_fixed(tmp_path):
    names = [f'S001C001P001R001A{a:03d}' for a in range(1, 7)]
    skel = write_skeletons(tmp_path / 'skel', {
        n: [[(1, 0.1 * i)]] * 4
        for i, n in enumerate(names, 1)
    })
    good = (skel / f'{names[3]}.skeleton').read_bytes()
    (skel / f'{names[3]}.skeleton').write_bytes(b'2\r\n0\r\n')
    out = tmp_path / 'ntu.pkl'
    with pytest.raises(ValueError, match=f'{names[3]}.skeleton: line 3'):
        convert_ntu(str(skel), str(out), workers=2)
    assert not out.exists()
    (skel / f'{names[3]}.skeleton').write_bytes(good)
    data = convert_ntu(str(skel), str(out), workers=2)
    assert [a['frame_dir'] for a in data['annotations']] == names
    assert sorted(os.listdir(tmp_path)) == ['ntu.pkl', 'skel']


def test_work_dir_of_other_options_is_not_reused(ntu, tmp_path):
    out = tmp_path / 'ntu.pkl'
    convert_ntu(str(ntu[0]), str(out), keep_work_dir=True)
    with pytest.raises(ValueError, match=r'other options.*max_bodies'):
        convert_ntu(str(ntu[0]), str(out), max_bodies=3, overwrite=True)


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


# --- Work dirs and existing pickles (issue 13): a conversion deletes only
# what it created, and replaces a pickle only when told to. ---


def test_work_dir_in_the_skeleton_folder_keeps_the_skeletons(ntu, tmp_path):
    skel = ntu[0]
    before = tree(skel)
    data = convert_ntu(
        str(skel), str(tmp_path / 'ntu.pkl'), work_dir=str(skel))
    assert data['num_samples'] == 2
    assert tree(skel) == before


def test_work_dir_holding_the_pickle_keeps_its_other_files(ntu, tmp_path):
    folder = tmp_path / 'out'
    folder.mkdir()
    (folder / 'notes.txt').write_text('mine')
    data = convert_ntu(
        str(ntu[0]), str(folder / 'ntu.pkl'), work_dir=str(folder))
    assert data['num_samples'] == 2
    assert sorted(os.listdir(folder)) == ['notes.txt', 'ntu.pkl']
    assert (folder / 'notes.txt').read_text() == 'mine'


def test_an_existing_pickle_is_refused_before_any_work(ntu, tmp_path,
                                                       monkeypatch):
    out = tmp_path / 'ntu.pkl'
    out.write_bytes(b'old')
    calls = []
    monkeypatch.setattr(ntu_converter, 'convert_sample',
                        lambda *a, **k: calls.append(a))
    with pytest.raises(FileExistsError, match=f'{out}.*overwrite'):
        convert_ntu(str(ntu[0]), str(out))
    assert calls == [] and out.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['ntu.pkl', 'skeletons', 'videos']
    monkeypatch.undo()
    data = convert_ntu(str(ntu[0]), str(out), overwrite=True)
    with open(out, 'rb') as f:
        assert len(pickle.load(f)['annotations']) == data['num_samples'] == 2


def test_cli_refuses_an_existing_pickle_unless_overwrite(ntu, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'convert_ntu', ROOT / 'tools/data/ntu/convert_ntu.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = tmp_path / 'ntu.pkl'
    out.write_bytes(b'old')
    argv = [str(ntu[0]), str(out), '--workers', '1', '--no-progress']
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert str(out) in str(info.value) and '--overwrite' in str(info.value)
    assert out.read_bytes() == b'old'
    cli.main(argv + ['--overwrite'])
    with open(out, 'rb') as f:
        assert len(pickle.load(f)['annotations']) == 2
