# Copyright (c) mmamr contributors. All rights reserved.
"""The structure of the synthetic data (generator version 2) that the
benchmark's calibration relies on: classes that share a motion and differ
by a held object seen in RGB only, Kinect-like skeleton errors and lost
frames, occluded clips, per-camera labs and per-clip clothes.

Every test is small (a handful of 32 x 32 or 64 x 64 clips of at most 16
frames). The rates are patched on the module, which works because
everything runs in this process (``workers=1``).
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmamr.data_prep import synthetic
from mmamr.data_prep.ntu_converter import convert_ntu, read_video_info
from mmamr.data_prep.synthetic import (CLASS_NAMES, MOTIONS, OBJECTS,
                                       SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic, kinect_errors,
                                       lab_background, make_skeleton, project,
                                       render_video, subject_look)

SIZE = (64, 64)
# Pixel value changes well beyond the per-frame sensor noise (std 4) and
# MJPG's loss: what a drawn object or body changes.
DRAWN = 40


def label(name: str) -> int:
    return CLASS_NAMES.index(name)


def read_frames(path: Path) -> np.ndarray:
    """All frames of a video, ``(T, H, W, 3)`` float32 BGR."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    return np.stack(frames).astype(np.float32)


def film(path: Path,
         name: str,
         seed: int = 0,
         num_frames: int = 12,
         held=None) -> tuple:
    """Render one clip of class ``name`` seen by camera 2 (from the front)
    and return its true joints and its frames."""
    xyz = make_skeleton(
        np.random.default_rng(seed), label(name), 2, 1, num_frames)
    render_video(
        str(path),
        xyz,
        np.random.default_rng(seed),
        SIZE,
        background=lab_background(0, 2, SIZE),
        look=subject_look(0, 1, np.random.default_rng(seed)),
        held=held)
    return xyz, read_frames(path)


# a. Classes that share a motion


@pytest.mark.parametrize('pair', [('drink water', 'brush teeth'),
                                  ('reading', 'writing')])
def test_object_pairs_share_one_skeleton_distribution(pair):
    a, b = (label(name) for name in pair)
    assert MOTIONS[pair[0]] == MOTIONS[pair[1]]
    for seed in range(3):
        for camera, subject in ((1, 1), (3, 6)):
            ja = make_skeleton(
                np.random.default_rng(seed), a, camera, subject, 20)
            jb = make_skeleton(
                np.random.default_rng(seed), b, camera, subject, 20)
            assert np.array_equal(ja, jb)
    # The pair differs in RGB only: by the object held.
    assert OBJECTS[pair[0]] != OBJECTS[pair[1]]


@pytest.mark.parametrize('other', ['wave right hand', 'reading', 'clap'])
def test_classes_of_other_motions_differ(other):
    drink = make_skeleton(
        np.random.default_rng(0), label('drink water'), 2, 1, 20)
    moved = make_skeleton(np.random.default_rng(0), label(other), 2, 1, 20)
    assert np.abs(drink - moved).max() > 0.1  # metres


# b. Kinect's skeleton errors


@pytest.fixture
def pose():
    """A known body: 300 frames of one class (true joints)."""
    return make_skeleton(
        np.random.default_rng(0), label('wave right hand'), 2, 1, 300)


def test_reported_joints_are_a_few_centimetres_off(pose, monkeypatch):
    monkeypatch.setattr(synthetic, 'TRACKING_FAILURE_RATE', 0.0)
    for seed in range(3):
        reported, present = kinect_errors(np.random.default_rng(seed), pose)
        assert reported.shape == pose.shape and present.shape == (300, )
        error = np.abs(reported - pose).mean()
        assert 0.5 * synthetic.JITTER_M < error < 4 * synthetic.JITTER_M
        # Jitter: consecutive frames differ by noise, not only by motion.
        step = np.diff(reported - pose, axis=0)
        assert np.abs(step).mean() > 0.5 * synthetic.JITTER_M


def test_a_tracking_failure_adds_errors_of_its_size(pose, monkeypatch):
    monkeypatch.setattr(synthetic, 'TRACKING_FAILURE_RATE', 0.0)
    tracked, _ = kinect_errors(np.random.default_rng(5), pose)
    monkeypatch.setattr(synthetic, 'TRACKING_FAILURE_RATE', 1.0)
    failed, _ = kinect_errors(np.random.default_rng(5), pose)
    # The failure is drawn after the other errors: the same stream gives
    # the same errors plus the failure's.
    extra = np.sqrt(((failed - tracked)**2).mean())
    assert 0.6 * synthetic.FAILED_NOISE_M < extra < 1.4 * (
        synthetic.FAILED_NOISE_M)
    grown = np.abs(failed - pose).mean() - np.abs(tracked - pose).mean()
    assert 0.4 * synthetic.FAILED_NOISE_M < grown < 1.5 * (
        synthetic.FAILED_NOISE_M)


def test_some_frames_keep_the_body(monkeypatch):
    monkeypatch.setattr(synthetic, 'LOST_RUN_RATE', 1.0)
    lost_any = False
    for num_frames in (1, 2, 3, 4, 5, 9, 30):
        xyz = make_skeleton(np.random.default_rng(0), 0, 1, 1, num_frames)
        for seed in range(20):
            _, present = kinect_errors(np.random.default_rng(seed), xyz)
            assert present.dtype == bool and present.any()
            lost = np.flatnonzero(~present)
            if len(lost):
                lost_any = True
                # One run of lost frames.
                assert np.array_equal(lost, np.arange(lost[0], lost[-1] + 1))
            if num_frames <= 3:
                assert present.all()
    assert lost_any


def test_without_lost_runs_every_frame_has_the_body(pose, monkeypatch):
    monkeypatch.setattr(synthetic, 'LOST_RUN_RATE', 0.0)
    for seed in range(5):
        _, present = kinect_errors(np.random.default_rng(seed), pose)
        assert present.all()


# c. Lost frames through the converter


def body_counts(path: Path) -> list:
    """Per frame, the body count of a ``.skeleton`` file, read from its
    text (0 or 1 body per frame in the synthetic files)."""
    lines = path.read_bytes().decode('ascii').split('\r\n')
    counts, pos = [], 1
    for _ in range(int(lines[0])):
        count = int(lines[pos])
        assert count in (0, 1)
        counts.append(count)
        pos += 1 + count * (2 + 25)  # body info, joint count, joints
    return counts


def test_lost_frames_survive_the_converter(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, 'LOST_RUN_RATE', 1.0)
    out = tmp_path / 'synthetic'
    names = generate_synthetic(
        str(out),
        num_classes=2,
        num_per_class=3,
        size=(32, 32),
        frame_range=(8, 14),
        workers=1)
    data = convert_ntu(
        str(out / SKELETON_DIR),
        str(tmp_path / 'synthetic.pkl'),
        video_dir=str(out / VIDEO_DIR))
    annotations = {a['frame_dir']: a for a in data['annotations']}
    assert sorted(annotations) == sorted(names)
    for name in names:
        counts = np.array(body_counts(out / SKELETON_DIR / f'{name}.skeleton'))
        assert 0 < counts.sum() < len(counts)  # every clip lost some
        ann = annotations[name]
        video = str(out / VIDEO_DIR / f'{name}_rgb.avi')
        assert ann['total_frames'] == len(counts) == read_video_info(video)[0]
        keypoint = ann['keypoint']
        assert keypoint.shape == (2, len(counts), 25, 3)
        empty = (keypoint[0] == 0).all(axis=(1, 2))
        assert np.array_equal(empty, counts == 0)
        assert (keypoint[0][counts == 1] != 0).any(axis=-1).all()
        assert (keypoint[1] == 0).all()  # one person
        assert np.array_equal(ann['keypoint_score'][0, :, 0], counts)


# d. Objects in the hand


def test_only_object_classes_hold_objects():
    assert set(OBJECTS) <= set(CLASS_NAMES)
    for name in ('clap', 'wave right hand', 'bow', 'jump up'):
        assert name not in OBJECTS
    for shape, (long, short), colour, joints in OBJECTS.values():
        assert shape in ('box', 'stick') and long >= short > 0
        assert len(colour) == 3 and all(0 <= j < 25 for j in joints)


@pytest.mark.parametrize('name', sorted(OBJECTS))
def test_held_object_is_drawn_at_the_hand_in_its_colour(
        name, tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, 'OCCLUSION_RATE', 0.0)
    held = OBJECTS[name]
    xyz, with_object = film(tmp_path / 'held.avi', name, held=held)
    _, without = film(tmp_path / 'empty.avi', name, held=None)
    assert with_object.shape == without.shape == (12, *SIZE, 3)
    # Only the object's colour (drawn from the stream when an object is
    # held) shifts the stream, so the sensor noise differs everywhere but
    # stays well below DRAWN; the drawing changes the rest.
    changed = np.abs(with_object - without).max(-1) > DRAWN
    assert changed.any(axis=(1, 2)).mean() >= 0.5  # seen in most frames
    assert changed.mean() < 0.05  # a small region
    shape, (long, short), colour, joints = held
    hand = project(xyz[:, list(joints)].mean(1), SIZE)  # (T, 2) x, y
    reach = 1.1 * SIZE[0] * np.hypot(long, short) / xyz[:, joints[0], 2]
    for t in range(len(xyz)):
        ys, xs = np.nonzero(changed[t])
        distance = np.hypot(xs - hand[t, 0], ys - hand[t, 1])
        # Up to the object's diagonal from the hand, plus MJPG's spread
        # (one 8 x 8 block).
        assert (distance <= reach[t] + 8).all()
    # The changed pixels move towards the object's colour (MJPG blurs the
    # small objects into the hand, the clip's exposure tints them).
    colour = np.array(colour, np.float32)
    now = with_object[changed].mean(0)
    before = without[changed].mean(0)
    assert np.linalg.norm(now - colour) < 0.7 * np.linalg.norm(before - colour)
    shift, towards = now - before, colour - before
    cosine = shift @ towards / np.linalg.norm(shift) / np.linalg.norm(towards)
    assert cosine > 0.8


def test_a_large_object_shows_its_own_colour(tmp_path, monkeypatch):
    monkeypatch.setattr(synthetic, 'OCCLUSION_RATE', 0.0)
    _, with_object = film(
        tmp_path / 'held.avi', 'reading', held=OBJECTS['reading'])
    _, without = film(tmp_path / 'empty.avi', 'reading', held=None)
    changed = np.abs(with_object - without).max(-1) > DRAWN
    # BGR (220, 110, 30), up to the colour's jitter, the clip's exposure
    # (x 0.75 to 1.25) and MJPG's loss: its channels keep their order.
    mean = with_object[changed].mean(0)
    colour = np.array(OBJECTS['reading'][2])
    assert np.abs(mean - colour).max() < 100
    assert list(np.argsort(mean)) == list(np.argsort(colour))


# e. Occlusion


def body_box(xyz: np.ndarray) -> tuple:
    """Pixel slices of the body's projected box over the clip."""
    uv = project(xyz, SIZE)
    low = np.clip(np.floor(uv.min((0, 1))).astype(int), 0, SIZE[1] - 1)
    high = np.clip(np.ceil(uv.max((0, 1))).astype(int), 0, SIZE[1] - 1)
    return slice(low[1], high[1] + 1), slice(low[0], high[0] + 1)


@pytest.mark.parametrize('name', ['wave right hand', 'drink water', 'bow'])
def test_an_occluded_clip_hides_the_body(name, tmp_path, monkeypatch):
    held = OBJECTS.get(name)
    monkeypatch.setattr(synthetic, 'OCCLUSION_RATE', 1.0)
    xyz, hidden = film(tmp_path / 'hidden.avi', name, held=held)
    monkeypatch.setattr(synthetic, 'OCCLUSION_RATE', 0.0)
    _, visible = film(tmp_path / 'visible.avi', name, held=held)
    rows, cols = body_box(xyz)
    assert rows.stop - rows.start > 20 and cols.stop - cols.start > 8
    # Under the occluder: one colour in every frame, and over time only
    # the sensor noise changes a pixel.
    box = hidden[:, rows, cols]
    assert box.reshape(len(box), -1, 3).std(1).mean() < 8
    assert box.std(0).max() < 15
    # Without it the body (clothes, skin) breaks up the background there.
    box = visible[:, rows, cols]
    assert box.reshape(len(box), -1, 3).std(1).mean() > 20


def test_a_waving_hand_moves_unless_occluded(tmp_path, monkeypatch):
    moved = {}
    for rate in (0.0, 1.0):
        monkeypatch.setattr(synthetic, 'OCCLUSION_RATE', rate)
        xyz, frames = film(
            tmp_path / f'{rate}.avi', 'wave right hand', num_frames=16)
        hand = np.round(project(xyz[:, 11], SIZE)).astype(int)
        x, y = hand[:, 0].clip(0, SIZE[1] - 1), hand[:, 1].clip(0, SIZE[0] - 1)
        # Over the clip, the largest change of a pixel on the hand's path.
        moved[rate] = frames[:, y, x].std(0).max()
    assert moved[0.0] > 25 and moved[1.0] < 15


# f. Labs and looks


def test_lab_background_is_one_per_camera():
    a = lab_background(0, 1, SIZE)
    assert a.shape == (*SIZE, 3) and a.dtype == np.float32
    assert np.array_equal(a, lab_background(0, 1, SIZE))
    assert not np.allclose(a, lab_background(0, 2, SIZE), atol=10)
    assert not np.allclose(a, lab_background(1, 1, SIZE), atol=10)


def test_subject_look_keeps_skin_and_changes_clothes():
    first = subject_look(0, 4, np.random.default_rng(1))
    second = subject_look(0, 4, np.random.default_rng(2))
    assert np.array_equal(first['skin'], second['skin'])
    for part in ('shirt', 'trousers'):
        assert not np.array_equal(first[part], second[part])
        again = subject_look(0, 4, np.random.default_rng(1))
        assert np.array_equal(first[part], again[part])
    other = subject_look(0, 5, np.random.default_rng(1))
    assert not np.array_equal(first['skin'], other['skin'])
    assert np.array_equal(first['shirt'], other['shirt'])
    assert not np.array_equal(
        first['skin'],
        subject_look(1, 4, np.random.default_rng(1))['skin'])


def test_generated_clips_share_their_camera_lab_and_subject_skin(
        tmp_path, monkeypatch):
    scenes = {}

    def record(path, xyz, seq, size, **scene):
        scenes[Path(path).name] = scene
        Path(path).write_bytes(b'')  # no rendering needed

    monkeypatch.setattr(synthetic, '_write_video', record)
    names = generate_synthetic(
        str(tmp_path),
        num_classes=3,
        num_per_class=10,
        size=(32, 32),
        frame_range=(4, 6),
        workers=1)
    assert len(scenes) == len(names) == 30
    by_camera, by_subject = {}, {}
    shirts = []
    for name in names:
        scene = scenes[f'{name}_rgb.avi']
        camera, subject = int(name[5:8]), int(name[9:12])
        by_camera.setdefault(camera, []).append(scene['background'])
        by_subject.setdefault(subject, []).append(scene['look']['skin'])
        shirts.append(tuple(scene['look']['shirt']))
        assert scene['held'] == OBJECTS.get(CLASS_NAMES[int(name[-3:]) - 1])
    assert sorted(by_camera) == [1, 2, 3]
    for camera, backgrounds in by_camera.items():
        assert all(np.array_equal(b, backgrounds[0]) for b in backgrounds)
        assert np.array_equal(backgrounds[0],
                              lab_background(0, camera, (32, 32)))
    assert not np.array_equal(by_camera[1][0], by_camera[2][0])
    for skins in by_subject.values():
        assert len(skins) == 3  # one clip per class
        assert all(np.array_equal(s, skins[0]) for s in skins)
    assert len(set(shirts)) == len(shirts)  # new clothes in every clip


# g. Folders of an older generator


def test_folder_of_an_older_generator_version_is_refused(tmp_path):
    options = dict(
        seed=0,
        num_classes=2,
        num_per_class=2,
        size=(32, 32),
        frame_range=(4, 6))
    recorded = synthetic.checked_options(**options)
    assert recorded['generator_version'] == synthetic.GENERATOR_VERSION == 2
    recorded['generator_version'] = 1
    path = tmp_path / synthetic.OPTIONS_FILE
    path.write_text(json.dumps(recorded, indent=2) + '\n')
    with pytest.raises(FileExistsError, match='generator_version: 1 there'):
        generate_synthetic(str(tmp_path), **options)
    assert not (tmp_path / SKELETON_DIR).exists()
    assert json.loads(path.read_text())['generator_version'] == 1
