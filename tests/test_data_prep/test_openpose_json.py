# Copyright (c) mmamr contributors. All rights reserved.
"""OpenPose BODY_25 JSON frames: the real iMiGUE sample, malformed files,
person selection."""
import json

import numpy as np
import pytest
import sample_data

from mmamr.data_prep.formats.openpose_json import (frame_files,
                                                   read_openpose_frame,
                                                   select_persons)

POSE = sample_data.IMIGUE_DIR / 'openpose_298'
FIRST = POSE / '298_000000000168_keypoints.json'


def needs_sample():
    if not FIRST.is_file():
        pytest.fail(f'iMiGUE OpenPose sample not found in {POSE}')


def test_real_frame_matches_its_json():
    needs_sample()
    people = read_openpose_frame(FIRST)
    assert people.shape == (1, 25, 3) and people.dtype == np.float32
    values = json.loads(FIRST.read_text())['people'][0]['pose_keypoints_2d']
    np.testing.assert_allclose(people[0].ravel(), values, rtol=1e-6)
    np.testing.assert_allclose(people[0, 0], [415.878, 210.104, 0.840858])
    # A seated player: hips, knees, ankles and feet are undetected.
    undetected = np.flatnonzero(people[0, :, 2] == 0)
    assert set(undetected) >= {9, 10, 11, 12, 13, 14, 19, 20, 21, 22}
    assert (people[0, undetected, :2] == 0).all()


def test_real_video_frames_are_indexed_by_number():
    needs_sample()
    files = frame_files(POSE)
    assert sorted(files) == list(range(168, 258))
    assert files[200].name == '298_000000000200_keypoints.json'
    for frame in (168, 200, 257):
        assert read_openpose_frame(files[frame]).shape == (1, 25, 3)


def write(tmp_path, obj, name='v_000000000000_keypoints.json'):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def person(num_values=75, conf=0.5):
    values = [10.0, 20.0, conf] * (num_values // 3)
    return dict(person_id=[-1], pose_keypoints_2d=values)


def test_empty_frame_has_no_people(tmp_path):
    path = write(tmp_path, dict(version=1.3, people=[]))
    assert read_openpose_frame(path).shape == (0, 25, 3)


@pytest.mark.parametrize(
    'content, message', [
        (dict(people=[person(54)]), '54 pose_keypoints_2d values, expected '
         '75'),
        (dict(people=[person(), person(78)]), 'person 1 has 78'),
        (dict(people=[dict(face_keypoints_2d=[])]), 'person 0 has no '
         'pose_keypoints_2d'),
        (dict(version=1.3), 'expected an object with a "people" list'),
        ('{"people": [', 'cannot read OpenPose JSON'),
        (dict(people=[dict(pose_keypoints_2d=['x'] * 75)]), 'non-numeric'),
    ],
    ids=[
        'coco-18-joints', 'second-person', 'no-pose', 'no-people', 'truncated',
        'non-numeric'
    ])
def test_malformed_frames_raise_naming_the_file(tmp_path, content, message):
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as info:
        read_openpose_frame(path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_nan_from_a_hand_edited_file_raises(tmp_path):
    values = ', '.join(['NaN'] + ['1'] * 74)
    path = write(tmp_path, f'{{"people": [{{"pose_keypoints_2d": '
                 f'[{values}]}}]}}')
    with pytest.raises(ValueError, match='non-finite'):
        read_openpose_frame(path)


def test_two_outputs_in_one_folder_are_refused(tmp_path):
    write(tmp_path, dict(people=[]), 'a_000000000003_keypoints.json')
    write(tmp_path, dict(people=[]), 'b_000000000003_keypoints.json')
    with pytest.raises(ValueError, match='frame 3 appears twice'):
        frame_files(tmp_path)
    with pytest.raises(ValueError, match='not found'):
        frame_files(tmp_path / 'missing')


def test_most_confident_people_are_kept_in_order():
    people = np.zeros((3, 25, 3), np.float32)
    people[:, :, 2] = [[0.2], [0.9], [0.5]]  # summed over joints
    people[:, :, 0] = [[1], [2], [3]]  # tells them apart
    kept = select_persons(people, 2)
    np.testing.assert_array_equal(kept[:, 0, 0], [2, 3])
    padded = select_persons(people[:1], 3)
    np.testing.assert_array_equal(padded[:, 0, 0], [1, 0, 0])
    assert not padded[1:].any()
    assert select_persons(people[:0], 1).shape == (1, 25, 3)


def test_every_real_frame_loads_with_confidences_in_unit_range():
    needs_sample()
    files = frame_files(POSE)
    assert len(files) == 90
    for path in files.values():
        people = read_openpose_frame(path)
        assert ((people[..., 2] >= 0) & (people[..., 2] <= 1)).all()


@pytest.mark.parametrize('conf', [1.5, -0.1, 'NaN', 'Infinity'])
def test_confidence_outside_unit_range_names_person_and_joint(tmp_path, conf):
    values = [10.0, 20.0, 0.5] * 25
    values[3 * 4 + 2] = '__CONF__'
    second = json.dumps(dict(pose_keypoints_2d=values)).replace(
        '"__CONF__"', str(conf))
    path = write(tmp_path, f'{{"people": [{json.dumps(person())}, '
                 f'{second}]}}')
    with pytest.raises(ValueError) as info:
        read_openpose_frame(path)
    message = str(info.value)
    assert str(path) in message
    assert 'person 1' in message and 'joint 4' in message
    assert 'confidence' in message


@pytest.mark.parametrize('axis, value', [(0, 'NaN'), (1, '-Infinity')])
def test_non_finite_coordinate_names_person_and_joint(tmp_path, axis, value):
    values = ['1'] * 75
    values[3 * 7 + axis] = value
    path = write(
        tmp_path, '{"people": [{"pose_keypoints_2d": '
        f'[{", ".join(values)}]}}]}}')
    with pytest.raises(ValueError) as info:
        read_openpose_frame(path)
    message = str(info.value)
    assert str(path) in message and 'non-finite' in message
    assert 'person 0' in message and 'joint 7' in message


def test_confidences_of_zero_and_one_are_valid(tmp_path):
    path = write(tmp_path, dict(people=[person(conf=0.0), person(conf=1)]))
    np.testing.assert_array_equal(
        read_openpose_frame(path)[:, :, 2].max(1), [0, 1])
