# Copyright (c) mmamr contributors. All rights reserved.
"""NTU ``.skeleton`` parsing: the real sample, bodyIDs, malformed input."""
from pathlib import Path

import numpy as np
import pytest
import sample_data

from mmamr.data_prep.formats.ntu_skeleton_file import (read_skeleton_file,
                                                       to_keypoint_arrays)

NTU_DIR = sample_data.NTU_DIR
REAL = NTU_DIR / 'S001C001P001R001A001.skeleton'
REAL_BODY_ID = 72057594037931101


def needs_real_sample():
    if not REAL.is_file():
        pytest.fail(f'real NTU sample not found at {REAL}')


def skeleton_text(frames, joint_count=25) -> str:
    """``.skeleton`` text of ``frames``: a list of ``[(body_id, xyz)]``."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, xyz in bodies:
            lines += [f'{body_id} 0 1 1 1 1 0 0.01 0.02 2', str(joint_count)]
            for x, y, z in xyz:
                lines.append(f'{x:.7g} {y:.7g} {z:.7g} 250 200 '
                             f'{960 + 500 * x:.7g} {540 - 500 * y:.7g} '
                             '0 0 0 0 2')
    return '\r\n'.join(lines) + '\r\n'


def write(tmp_path, text, name='S001C001P001R001A001.skeleton') -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode('ascii'))
    return path


def pose(t: float, amp: float = 0.0) -> np.ndarray:
    """A 25-joint pose moving with amplitude ``amp``."""
    xyz = np.linspace([0, -0.8, 3], [0.4, 0.8, 3.2], 25)
    return xyz + amp * np.sin(t)


def test_real_file_has_103_frames_of_one_body():
    needs_real_sample()
    skel = read_skeleton_file(REAL)
    assert skel.num_frames == 103
    assert list(skel.bodies) == [REAL_BODY_ID]
    body = skel.bodies[REAL_BODY_ID]
    assert type(body.body_id) is int and body.body_id == REAL_BODY_ID
    np.testing.assert_array_equal(body.frames, np.arange(103))
    assert body.xyz.shape == (103, 25, 3)
    assert body.color_xy.shape == (103, 25, 2)
    np.testing.assert_allclose(body.xyz[0, 0],
                               [0.2181153, 0.1725972, 3.785547])
    np.testing.assert_allclose(body.color_xy[0, 0], [1036.233, 519.1677])
    assert body.tracking[0, 5] == 1 and body.tracking[0, 0] == 2


def test_real_file_joint_values_match_the_text():
    needs_real_sample()
    lines = REAL.read_text().splitlines()
    # One body per frame: 28 lines per frame after the header line.
    t, j = 50, 11
    fields = lines[1 + 28 * t + 3 + j].split()
    body = read_skeleton_file(REAL).bodies[REAL_BODY_ID]
    np.testing.assert_allclose(body.xyz[t, j], np.float32(fields[:3]))
    np.testing.assert_allclose(body.color_xy[t, j], np.float32(fields[5:7]))
    assert body.tracking[t, j] == int(fields[11])


def test_real_file_to_mmaction_arrays():
    needs_real_sample()
    arrays = to_keypoint_arrays(read_skeleton_file(REAL))
    assert arrays['keypoint'].shape == (2, 103, 25, 3)
    assert arrays['keypoint_2d'].shape == (2, 103, 25, 2)
    assert arrays['keypoint_score'].shape == (2, 103, 25)
    assert arrays['keypoint'].dtype == np.float32
    assert arrays['body_ids'] == [REAL_BODY_ID]
    assert (arrays['keypoint_score'][0] == 1).all()
    assert not arrays['keypoint'][1].any()
    assert not arrays['keypoint_score'][1].any()


def test_body_ids_differing_in_last_digits_stay_distinct(tmp_path):
    a, b = REAL_BODY_ID, REAL_BODY_ID + 1
    assert float(a) == float(b)  # why they must not be parsed as floats
    frames = [[(a, pose(t)), (b, pose(t, 0.1))] for t in range(3)]
    skel = read_skeleton_file(write(tmp_path, skeleton_text(frames)))
    assert list(skel.bodies) == [a, b]


def test_lf_line_endings_are_accepted(tmp_path):
    text = skeleton_text([[(1, pose(0))]]).replace('\r\n', '\n')
    assert read_skeleton_file(write(tmp_path, text)).num_frames == 1


def _replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.split('\r\n')
    lines[lineno - 1] = new
    return '\r\n'.join(lines)


# Two frames of one body: line 1 frame count, 2 body count, 3 body info,
# 4 joint count, 5-29 joints, 30 body count of frame 1, 31 info, ...
GOOD = skeleton_text([[(7, pose(0))], [(7, pose(1))]])
JOINT = GOOD.split('\r\n')[4]
# Ends inside line 46 (a joint line), as a copy cut short would.
CUT = '\r\n'.join(GOOD.split('\r\n')[:45] + [JOINT[:20]])


@pytest.mark.parametrize(
    'text, lineno, expected', [
        ('\r\n'.join(GOOD.split('\r\n')[:40]), 41, 'truncated'),
        (CUT, 46, 'joint line of 12 fields'),
        (_replace_line(GOOD, 7, JOINT + ' 0'), 7, 'joint line of 12'),
        (_replace_line(GOOD, 9, 'x' + JOINT[1:]), 9, 'finite numbers'),
        (_replace_line(GOOD, 9, JOINT.replace('250', 'nan')), 9, 'finite'),
        (_replace_line(GOOD, 4, '24'), 4, 'joint count 25'),
        (_replace_line(GOOD, 1, '3'), 58, 'body count of frame 2'),
        (_replace_line(GOOD, 1, '1'), 30, 'end of file'),
        (GOOD + 'garbage\r\n', 58, 'end of file'),
        (_replace_line(GOOD, 3,
                       '7.2e16 0 1 1 1 1 0 0 0 2'), 3, 'integer bodyID'),
        (_replace_line(GOOD, 3,
                       '7 0 1 1 1 1 0 0 2'), 3, 'body info line of 10'),
        (_replace_line(GOOD, 2, 'one'), 2, 'body count of frame 0'),
        (_replace_line(GOOD, 5, JOINT[:-1] + '3'), 5, 'trackingState'),
        ('', 1, 'frame count'),
    ],
    ids=[
        'truncated', 'cut-mid-line', 'extra-field', 'non-numeric', 'nan',
        'joint-count', 'more-frames-declared', 'fewer-frames-declared',
        'trailing-garbage', 'float-body-id', 'short-body-info',
        'bad-body-count', 'bad-tracking-state', 'empty'
    ])
def test_malformed_file_raises_naming_file_and_line(tmp_path, text, lineno,
                                                    expected):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        read_skeleton_file(path)
    msg = str(info.value)
    assert str(path) in msg and f'line {lineno}:' in msg and expected in msg


def test_repeated_body_id_in_one_frame_raises(tmp_path):
    path = write(tmp_path, skeleton_text([[(5, pose(0)), (5, pose(1))]]))
    with pytest.raises(ValueError, match='line 30: expected distinct'):
        read_skeleton_file(path)


def test_four_bodies_reduce_to_the_two_most_active(tmp_path):
    amps = {11: 0.01, 12: 0.3, 13: 0.0, 14: 0.1}  # 12 then 14 move most
    frames = [[(i, pose(t, a)) for i, a in amps.items()] for t in range(6)]
    skel = read_skeleton_file(write(tmp_path, skeleton_text(frames)))
    assert len(skel.bodies) == 4
    arrays = to_keypoint_arrays(skel)
    assert arrays['body_ids'] == [12, 14]
    np.testing.assert_allclose(
        arrays['keypoint'][1], skel.bodies[14].xyz, rtol=1e-6)


def test_absent_bodies_and_empty_frames_are_zeros(tmp_path):
    frames = [[(1, pose(0, 0.2))], [], [(1, pose(2, 0.2)), (2, pose(2))],
              [(2, pose(3))]]
    skel = read_skeleton_file(write(tmp_path, skeleton_text(frames)))
    arrays = to_keypoint_arrays(skel)
    assert arrays['body_ids'] == [1, 2]
    score = arrays['keypoint_score'][:, :, 0]
    np.testing.assert_array_equal(score, [[1, 0, 1, 0], [0, 0, 1, 1]])
    kp = arrays['keypoint']
    assert not kp[:, 1].any() and not kp[0, 3].any() and not kp[1, 0].any()
    assert kp[0, 0].any() and kp[1, 3].any()


def test_file_without_bodies_gives_zeros(tmp_path):
    skel = read_skeleton_file(write(tmp_path, skeleton_text([[], [], []])))
    arrays = to_keypoint_arrays(skel)
    assert skel.bodies == {} and arrays['keypoint'].shape == (2, 3, 25, 3)
    assert not arrays['keypoint'].any()


def agcn_energy(xyz: np.ndarray) -> float:
    """2s-AGCN's ``get_nonzero_std`` of one body, ``(T, V, 3)`` with zero
    frames where the body is absent (an independent reference)."""
    frames = xyz[xyz.sum(-1).sum(-1) != 0]
    if len(frames) == 0:
        return 0.0
    return sum(float(frames[:, :, c].std()) for c in range(3))


def test_bodies_are_ranked_by_pooled_std_as_2s_agcn(tmp_path):
    # A tall body standing almost still, and a small one (e.g. crouched)
    # that moves: the small one varies more over time, joint by joint, but
    # the tall one spreads more over frames and joints pooled together.
    tall, small = 21, 22
    T = 8
    frames = []
    for t in range(T):
        bodies = [(tall, pose(t, 0.01))]
        if t not in (2, 5):  # the small body is not seen in two frames
            compact = pose(0).mean(0) + 0.15 * (pose(0) - pose(0).mean(0))
            bodies.append((small, compact + 0.12 * np.sin(t)))
        frames.append(bodies)
    skel = read_skeleton_file(write(tmp_path, skeleton_text(frames)))

    dense = {}
    for body_id, body in skel.bodies.items():
        full = np.zeros((T, 25, 3))
        full[body.frames] = body.xyz
        dense[body_id] = full
    temporal = {
        b: float(x[skel.bodies[b].frames].var(0).sum())
        for b, x in dense.items()
    }
    energy = {b: agcn_energy(x) for b, x in dense.items()}
    # The two rules disagree on this file.
    assert temporal[small] > temporal[tall]
    assert energy[tall] > energy[small]

    expected = sorted(energy, key=energy.get, reverse=True)
    assert expected == [tall, small]
    assert to_keypoint_arrays(skel)['body_ids'] == expected
    assert to_keypoint_arrays(skel, max_bodies=1)['body_ids'] == [tall]
