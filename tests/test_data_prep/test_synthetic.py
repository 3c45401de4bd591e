# Copyright (c) mmamr contributors. All rights reserved.
"""The synthetic dataset: real NTU format, deterministic, learnable."""
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from mmamr.data_prep import synthetic
from mmamr.data_prep.formats.ntu_skeleton_file import (read_skeleton_file,
                                                       to_keypoint_arrays)
from mmamr.data_prep.ntu_converter import (XSUB_TRAIN_SUBJECTS, convert_ntu,
                                           parse_sample_name, read_video_info)
from mmamr.data_prep.synthetic import (CLASS_NAMES, SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic, project)

ROOT = Path(__file__).resolve().parents[2]
SMALL = dict(num_classes=2, num_per_class=3, frame_range=(20, 30))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    """10 classes x 10 samples (8 X-Sub train, 2 val per class)."""
    out = tmp_path_factory.mktemp('synthetic')
    names = generate_synthetic(
        str(out), num_per_class=10, frame_range=(30, 50), workers=2)
    return out, names


def skeleton_path(out: Path, name: str) -> Path:
    return out / SKELETON_DIR / f'{name}.skeleton'


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    for d, seed in (('a', 0), ('b', 0), ('c', 1)):
        generate_synthetic(str(tmp_path / d), seed=seed, **SMALL)
    files = sorted(os.listdir(tmp_path / 'a' / SKELETON_DIR))
    assert len(files) == 6
    for f in files:
        a, b, c = ((tmp_path / d / SKELETON_DIR / f).read_bytes()
                   for d in 'abc')
        assert a == b and a != c


def test_files_are_real_ntu_format(dataset):
    out, names = dataset
    assert len(names) == 100 and len(set(names)) == 100
    raw = skeleton_path(out, names[0]).read_bytes()
    assert raw.count(b'\r\n') == raw.count(b'\n')  # CRLF only
    for name in names[::7]:
        skel = read_skeleton_file(skeleton_path(out, name))
        (body, ) = skel.bodies.values()
        assert 2**56 < body.body_id < 2**64
        assert (body.tracking == 2).all()
        assert 30 <= skel.num_frames <= 50
        count, height, width = read_video_info(
            str(out / VIDEO_DIR / f'{name}_rgb.avi'))
        assert count == skel.num_frames and (height, width) == (64, 64)
        # Colour coordinates are the pinhole projection of xyz.
        np.testing.assert_allclose(
            body.color_xy, project(body.xyz, (64, 64)), atol=1e-3)
        assert (body.color_xy > 0).mean() > 0.99
        assert (body.color_xy < 64).mean() > 0.99
    labels = (out / 'label_map.txt').read_text().splitlines()
    assert labels == list(CLASS_NAMES[:10])


def test_converter_gives_both_xsub_splits(dataset, tmp_path):
    out, names = dataset
    data = convert_ntu(
        str(out / SKELETON_DIR),
        str(tmp_path / 'synthetic.pkl'),
        video_dir=str(out / VIDEO_DIR))
    split = data['split']
    assert len(split['xsub_train']) == 80 and len(split['xsub_val']) == 20
    assert split['xview_train'] and split['xview_val']
    ann = data['annotations'][0]
    assert ann['img_shape'] == (64, 64)
    assert sorted(a['label'] for a in data['annotations']) == sorted(
        list(range(10)) * 10)


def _features(keypoint: np.ndarray) -> np.ndarray:
    """Mean and spread of body-centred joints, facing normalised."""
    k = keypoint - keypoint[:, :1]
    hips = (k[:, 16] - k[:, 12]).mean(0)
    a = np.arctan2(hips[2], hips[0])
    c, s = np.cos(a), np.sin(a)
    k = k @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T
    return np.concatenate([k.mean(0).ravel(), k.std(0).ravel()])


def test_classes_are_separable_by_nearest_centroid(dataset):
    out, names = dataset
    feats, labels, train = [], [], []
    for name in names:
        arrays = to_keypoint_arrays(
            read_skeleton_file(skeleton_path(out, name)))
        info = parse_sample_name(name)
        feats.append(_features(arrays['keypoint'][0]))
        labels.append(info['action'] - 1)
        train.append(info['subject'] in XSUB_TRAIN_SUBJECTS)
    feats, labels, train = map(np.array, (feats, labels, train))
    centroids = np.stack(
        [feats[train & (labels == c)].mean(0) for c in range(10)])
    dist = ((feats[~train, None] - centroids)**2).sum(-1)
    accuracy = (dist.argmin(1) == labels[~train]).mean()
    assert accuracy >= 0.8  # chance is 0.1


def file_bytes(out: Path) -> dict:
    """Relative path -> bytes of every file under ``out``."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob('*')) if p.is_file()
    }


def test_rerun_skips_complete_files_and_cleans_temporaries(tmp_path):
    generate_synthetic(str(tmp_path), **SMALL)
    skel_dir, video_dir = tmp_path / SKELETON_DIR, tmp_path / VIDEO_DIR
    video = sorted(video_dir.iterdir())[0]
    original = video.read_bytes()
    video.unlink()
    complete = sorted(skel_dir.iterdir())[1]  # another sample's
    os.utime(complete, (0, 0))
    (skel_dir / '.S001C001P001R001A001.tmp-dead.skeleton').write_text('x')
    generate_synthetic(str(tmp_path), **SMALL)
    assert video.read_bytes() == original  # regenerated identically
    assert complete.stat().st_mtime == 0  # not rewritten
    assert not list(skel_dir.glob('.*'))


def test_options_are_recorded_with_the_data(tmp_path):
    generate_synthetic(str(tmp_path), seed=3, size=(48, 80), **SMALL)
    options = json.loads((tmp_path / synthetic.OPTIONS_FILE).read_text())
    assert {
        k: v
        for k, v in options.items() if k != 'generator_version'
    } == dict(
        seed=3,
        num_classes=2,
        num_per_class=3,
        size=[48, 80],
        frame_range=[20, 30])


@pytest.mark.parametrize(
    'changed', [
        dict(seed=1),
        dict(num_classes=3),
        dict(num_per_class=4),
        dict(size=(48, 64)),
        dict(frame_range=(20, 31)),
    ],
    ids=['seed', 'num_classes', 'num_per_class', 'size', 'frame_range'])
def test_other_options_in_a_used_folder_are_refused(tmp_path, changed):
    generate_synthetic(str(tmp_path), **SMALL)
    before = file_bytes(tmp_path)
    with pytest.raises(FileExistsError) as info:
        generate_synthetic(str(tmp_path), **{**SMALL, **changed})
    message = str(info.value)
    (option, ) = changed
    assert str(tmp_path) in message and option in message
    assert file_bytes(tmp_path) == before  # label_map.txt too


def test_folder_with_data_but_no_options_is_refused(tmp_path):
    (tmp_path / SKELETON_DIR).mkdir()
    (tmp_path / SKELETON_DIR /
     'S001C001P001R001A001.skeleton').write_text('old')
    with pytest.raises(FileExistsError, match=str(tmp_path)):
        generate_synthetic(str(tmp_path), **SMALL)
    assert not (tmp_path / VIDEO_DIR).exists()
    assert not (tmp_path / synthetic.OPTIONS_FILE).exists()


def test_empty_folder_is_used(tmp_path):
    (tmp_path / SKELETON_DIR).mkdir()
    (tmp_path / VIDEO_DIR).mkdir()
    assert len(generate_synthetic(str(tmp_path), **SMALL)) == 6


@pytest.mark.parametrize(
    'bad, message', [
        (dict(num_per_class=0), 'num_per_class'),
        (dict(num_per_class=-2), 'num_per_class'),
        (dict(num_classes=0), 'num_classes'),
        (dict(seed=-1), 'seed'),
        (dict(frame_range=(30, 20)), 'frame_range'),
        (dict(frame_range=(0, 5)), 'frame_range'),
        (dict(size=(8, 8)), 'size'),
        (dict(size=(63, 64)), 'even'),
        (dict(size=(64, 64, 3)), 'size'),
    ],
    ids=[
        'no-samples', 'negative-samples', 'no-classes', 'negative-seed',
        'min-over-max', 'no-frames', 'tiny', 'odd', 'three-sides'
    ])
def test_unrenderable_options_raise_before_writing(tmp_path, bad, message):
    out = tmp_path / 'out'
    with pytest.raises(ValueError, match=message):
        generate_synthetic(str(out), **{**SMALL, **bad})
    assert not out.exists()


def test_interrupted_render_leaves_no_partial_sample(tmp_path, monkeypatch):
    real_render = synthetic.render_video

    def crash(path, *args, **kwargs):
        real_render(path, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(synthetic, 'render_video', crash)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic(str(tmp_path), **SMALL)
    # No skeleton without its video: the converter would list the sample.
    assert os.listdir(tmp_path / VIDEO_DIR) == []
    assert os.listdir(tmp_path / SKELETON_DIR) == []


def test_interrupted_skeleton_write_resumes_identically(tmp_path, monkeypatch):
    reference = tmp_path / 'reference'
    generate_synthetic(str(reference), **SMALL)

    def crash(*args):
        raise KeyboardInterrupt

    out = tmp_path / 'out'
    monkeypatch.setattr(synthetic, 'skeleton_text', crash)
    with pytest.raises(KeyboardInterrupt):
        generate_synthetic(str(out), **SMALL)
    assert os.listdir(out / SKELETON_DIR) == []
    monkeypatch.undo()
    generate_synthetic(str(out), **SMALL)
    assert file_bytes(out) == file_bytes(reference)


def test_orphan_skeleton_of_an_older_run_is_regenerated(tmp_path):
    generate_synthetic(str(tmp_path), **SMALL)
    expected = file_bytes(tmp_path)
    name = 'S001C002P002R001A002'
    (tmp_path / VIDEO_DIR / f'{name}_rgb.avi').unlink()
    skeleton_path(tmp_path, name).write_text('1\r\n0\r\n')  # cut short
    generate_synthetic(str(tmp_path), **SMALL)
    assert file_bytes(tmp_path) == expected


def test_cli_generates(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'generate_synthetic',
        ROOT / 'tools/data/synthetic/generate_synthetic.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    cli.main([
        str(tmp_path), '--num-classes', '2', '--num-per-class', '2',
        '--frames', '20', '25', '--workers', '1', '--no-progress'
    ])
    assert '4 samples' in capsys.readouterr().out
    assert len(list((tmp_path / VIDEO_DIR).glob('*_rgb.avi'))) == 4


def test_cli_reports_refusals_without_a_traceback(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'generate_synthetic',
        ROOT / 'tools/data/synthetic/generate_synthetic.py')
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    with pytest.raises(SystemExit) as info:
        cli.main([str(tmp_path / 'a'), '--num-per-class', '0'])
    assert 'num_per_class' in str(info.value.code)
    generate_synthetic(str(tmp_path / 'b'), **SMALL)
    with pytest.raises(SystemExit) as info:
        cli.main([
            str(tmp_path / 'b'), '--num-classes', '2', '--num-per-class', '3',
            '--frames', '20', '30', '--seed', '5', '--no-progress'
        ])
    assert 'seed' in str(info.value.code)
