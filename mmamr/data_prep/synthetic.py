# Copyright (c) mmamr contributors. All rights reserved.
"""A small synthetic RGB-skeleton dataset written in NTU RGB+D's raw format.

Every class is one motion of the 25-joint NTU skeleton (NTU joint order,
Kinect camera space: metres, ``x`` towards the subject's right when they
face the camera, ``y`` up, ``z`` away from the camera). Per sample the
motion varies in speed, amplitude, phase, body size, position and
viewpoint (rotation about the vertical axis), and the frame count varies.

The dataset has NTU's modality structure (docs/results.md, "The synthetic
benchmark"): neither modality alone tells every class, and each fails
where the other usually does not. As NTU's drink water / brush teeth and
reading / writing, pairs of classes share one motion and differ by the
object in the hand (:data:`OBJECTS`), which only RGB shows. The skeleton
is what a Kinect v2 reports (:func:`kinect_errors`: jitter, drift, joints
snapping to the other side, lost frames, and in some clips a badly fitted
body throughout), written as ``<name>.skeleton`` exactly as Kinect v2
files are laid out. The video ``<name>_rgb.avi`` (MJPG, 30 fps) films the
true body as a person (:func:`subject_look`) in front of the lab each
camera sees (:func:`lab_background`), with a drifting shape, exposure
changes and sensor noise; in some clips something hides the person. Colour
and depth pixel coordinates come from one pinhole camera of the video's
size (a registered RGB-D sensor, unlike Kinect's separate 512x424 depth
camera).

Names are ``SsssCcccPpppRrrrAaaa``. Eight of ten subjects belong to NTU's
X-Sub training subjects, so X-Sub splits about 80/20; cameras 1-3 face
the subject from +45, 0 and -45 degrees as in NTU, so X-View splits too.

Generation is deterministic per seed and per sample (a sample's random
stream depends only on ``(seed, class, index)``), every file is written
atomically, a sample's video before its skeleton (so a skeleton always has
its video), and a re-run skips samples whose two files exist. The options
are recorded in ``synthetic_options.json``; a folder made with other
options, or holding data without that file, is refused rather than mixed.
"""
import contextlib
import json
import multiprocessing
import operator
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmamr.common import atomic_output, remove_temporaries, write_text_atomic
from .conversion import read_video_info, with_progress

SKELETON_DIR = 'nturgb+d_skeletons'
VIDEO_DIR = 'nturgb+d_rgb'
LABEL_MAP = 'label_map.txt'
OPTIONS_FILE = 'synthetic_options.json'
# Bump it when a change alters the files written for given options, so
# that folders made before are refused instead of mixed with new samples.
GENERATOR_VERSION = 2
# OpenCV's MJPG writer corrupts the heap (the process aborts) on frames
# 6 or fewer pixels wide or high, and below 16 pixels the one-pixel limbs
# no longer outline a body.
MIN_VIDEO_SIDE = 16
FPS = 30
# Eight NTU X-Sub training subjects and two validation subjects.
SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 3, 6)
CAMERA_YAW_DEG = {1: 45.0, 2: 0.0, 3: -45.0}
BONES = ((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6),
         (8, 20), (9, 8), (10, 9), (11, 10), (12, 0), (13, 12), (14, 13),
         (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 7), (22, 7),
         (23, 11), (24, 11))
# Segment lengths (metres) of a body of scale 1 (about 1.75 m tall).
UPPER_ARM, FOREARM, HAND, HAND_TIP = 0.28, 0.25, 0.08, 0.07
THIGH, SHIN, FOOT = 0.42, 0.40, 0.13
HIP_DROP, HIP_HALF, SHOULDER_HALF = 0.05, 0.09, 0.17
ANKLE_REST_Y = -(HIP_DROP + THIGH + SHIN)
HALF_PI = np.pi / 2
# Kinect v2's skeleton errors, of the kinds NTU's raw files show (the
# sizes, in metres, are our choice; docs/results.md says how they were
# set): per-frame jitter, a slow per-joint drift, hands and feet that snap
# to the other side's joint for a few frames, and runs of frames in which
# the body is lost. In TRACKING_FAILURE_RATE of the clips the tracker fits
# the body badly throughout (FAILED_NOISE_M), as in NTU's worst clips.
JITTER_M = 0.015
DRIFT_M = 0.02
SNAPS_PER_CLIP = 1.0
LOST_RUN_RATE = 0.3
TRACKING_FAILURE_RATE = 0.1
FAILED_NOISE_M = 0.12
# The RGB camera's failures: in OCCLUSION_RATE of the clips something
# stands between the camera and the subject for the whole clip.
OCCLUSION_RATE = 0.05
# Left <-> right joints, which Kinect confuses.
MIRROR = dict(
    zip((4, 5, 6, 7, 21, 22, 12, 13, 14, 15),
        (8, 9, 10, 11, 23, 24, 16, 17, 18, 19)))
MIRROR.update({v: k for k, v in MIRROR.items()})
EXTREMITIES = (6, 7, 21, 22, 10, 11, 23, 24, 14, 15, 18, 19)
# Random streams of the per-camera lab and the per-subject look (a
# sample's own streams are keyed by (seed, class, index) instead).
LAB_STREAM, LOOK_STREAM = 10**6, 10**6 + 1
# Body parts drawn as the person (joint pairs), with their colour.
SLEEVES = ((20, 4), (20, 8), (4, 5), (8, 9))
FOREARMS = ((5, 6), (6, 7), (9, 10), (10, 11))
LEGS = ((0, 12), (0, 16), (12, 13), (13, 14), (16, 17), (17, 18))
FEET = ((14, 15), (18, 19))
TORSO = (4, 8, 16, 12)
# Widths in metres.
LIMB_WIDTH_M, HEAD_RADIUS_M, HAND_RADIUS_M = 0.13, 0.11, 0.06


def _bump(ph: np.ndarray) -> np.ndarray:
    """0 -> 1 -> 0 once per cycle: for one-shot motions such as bowing."""
    return 0.5 - 0.5 * np.cos(ph)


def _wave(side: str, ph, amp) -> dict:
    return {
        f'{side}_sh_elev': 1.9,
        f'{side}_sh_azim': 0.3,
        f'{side}_el_elev': np.pi - 0.25 + 0.45 * amp * np.sin(ph),
        f'{side}_el_azim': 0.0
    }


def _raise_arms(ph, amp) -> dict:
    elev = 0.12 + np.minimum(2.6 * amp, 2.9) * _bump(ph)
    return {
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('sh_elev', elev), ('sh_azim', 0.2),
                     ('el_elev', elev + 0.1), ('el_azim', 0.2))
    }


def _bend_legs(angle) -> dict:
    """Thighs forward and shins back by ``angle``: a crouch."""
    return {
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('hip_elev', angle), ('hip_azim', HALF_PI),
                     ('knee_elev', angle), ('knee_azim', -HALF_PI))
    }


def _squat(ph, amp) -> dict:
    g = _bump(ph)
    out = _bend_legs(1.3 * amp * g)
    out.update(pitch=0.35 * amp * g)
    for s in 'lr':  # arms forward for balance
        out.update({f'{s}_sh_elev': 0.12 + 1.3 * g, f'{s}_sh_azim': HALF_PI})
    return out


def _kick(side: str, ph, amp) -> dict:
    k = np.maximum(0.0, np.sin(ph))**1.5
    return {
        f'{side}_hip_elev': 1.3 * amp * k,
        f'{side}_hip_azim': HALF_PI,
        f'{side}_knee_elev': 0.9 * amp * k,
        f'{side}_knee_azim': HALF_PI,
        'pitch': -0.1 * k
    }


def _clap(ph, amp) -> dict:
    together = 0.5 + 0.5 * np.sin(ph)  # 1: forearms turned in, hands meet
    forearm_azim = 1.0 + 1.6 * min(amp, 1.1) * together
    return {
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('sh_elev', 1.1), ('sh_azim', HALF_PI - 0.2),
                     ('el_elev', 1.5), ('el_azim', forearm_azim))
    }


def _bow(ph, amp) -> dict:
    return dict(pitch=0.9 * amp * _bump(ph))


def _jump(ph, amp) -> dict:
    s = np.sin(ph)
    crouch = 0.6 * amp * np.maximum(0.0, -s)
    out = _bend_legs(crouch)
    out.update(lift=0.22 * amp * np.maximum(0.0, s), pitch=0.3 * crouch)
    for side in 'lr':  # arms swing up with the take-off
        out.update({
            f'{side}_sh_elev': 0.12 + 1.4 * np.maximum(0.0, s),
            f'{side}_sh_azim': HALF_PI
        })
    return out


def _side_step(ph, amp) -> dict:
    spread = 0.3 * amp * np.abs(np.cos(ph))
    out = dict(dx=0.3 * amp * np.sin(ph))
    for s in 'lr':
        out.update({
            f'{s}_hip_elev': spread,
            f'{s}_knee_elev': spread,
            f'{s}_sh_elev': 0.35
        })
    return out


def _punch_right(ph, amp) -> dict:
    p = np.maximum(0.0, np.sin(ph)) * min(amp, 1.0)
    out = {f'{s}_{j}': HALF_PI for s in 'lr' for j in ('sh_azim', 'el_azim')}
    out.update(l_sh_elev=0.5, l_el_elev=2.4)  # left arm stays on guard
    out.update(r_sh_elev=0.5 + 1.07 * p, r_el_elev=2.4 - 0.83 * p)
    return out


def _hands_on_head(ph, amp) -> dict:
    g = _bump(ph) * min(amp, 1.0)
    return {
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('sh_elev', 0.12 + 2.0 * g), ('sh_azim', 0.5),
                     ('el_elev', 0.2 + 2.2 * g), ('el_azim', 0.3 + 2.6 * g))
    }


def _hand_to_mouth(ph, amp) -> dict:
    """The right hand comes up to the mouth and goes down again: the
    shared motion of drinking and brushing teeth."""
    g = _bump(ph) * min(amp, 1.0)
    return dict(
        r_sh_elev=0.12 + 0.75 * g,
        r_sh_azim=HALF_PI - 0.4,
        r_el_elev=0.2 + 2.55 * g,
        r_el_azim=HALF_PI + 0.9 * g)


def _hands_in_front(ph, amp) -> dict:
    """Both forearms held forward at chest height, the right hand moving a
    little, the head bent: the shared motion of reading and writing."""
    out = {
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('sh_elev', 0.45), ('sh_azim', HALF_PI - 0.3),
                     ('el_elev', 1.45), ('el_azim', HALF_PI + 0.35))
    }
    out.update(
        r_el_azim=HALF_PI + 0.35 + 0.15 * amp * np.sin(ph),
        pitch=0.12 + 0.03 * np.sin(ph))
    return out


# name -> (pose function of (phase, amplitude), base frequency in Hz).
# As in NTU (drink water, brush teeth, reading, writing), pairs of
# classes share one motion and differ only by the object in the hand, a
# cue that RGB carries and the skeleton does not (see OBJECTS).
MOTIONS = {
    'drink water': (_hand_to_mouth, 0.5),
    'brush teeth': (_hand_to_mouth, 0.5),
    'reading': (_hands_in_front, 0.8),
    'writing': (_hands_in_front, 0.8),
    'wave right hand': (partial(_wave, 'r'), 1.5),
    'raise both arms': (_raise_arms, 0.6),
    'squat down': (_squat, 0.6),
    'kick something': (partial(_kick, 'r'), 0.8),
    'clap': (_clap, 1.5),
    'jump up': (_jump, 1.2),
    'bow': (_bow, 0.5),
    'side step': (_side_step, 0.7),
    'punch with right hand': (_punch_right, 1.2),
    'put hands on head': (_hands_on_head, 0.6),
}
# Objects held by a class: (shape, size in metres (long side, short
# side), BGR colour, joints it is held at (their mean)). Boxes are axis
# aligned; a stick points along the forearm (wrist to hand).
OBJECTS = {
    'drink water': ('box', (0.14, 0.14), (40, 40, 220), (11, )),
    'brush teeth': ('stick', (0.3, 0.07), (60, 210, 60), (11, )),
    'reading': ('box', (0.3, 0.22), (220, 110, 30), (7, 11)),
    'writing': ('stick', (0.22, 0.04), (30, 220, 230), (11, )),
    'kick something': ('box', (0.25, 0.25), (200, 40, 200), (19, )),
}
CLASS_NAMES = tuple(MOTIONS)
_REST = dict(
    pitch=0.0,
    lift=0.0,
    dx=0.0,
    **{
        f'{s}_{j}': v
        for s in 'lr'
        for j, v in (('sh_elev', 0.12), ('sh_azim', 0.3), ('el_elev', 0.2),
                     ('el_azim', 1.2), ('hip_elev', 0.03), ('hip_azim', 0.0),
                     ('knee_elev', 0.03), ('knee_azim', 0.0))
    })


def _limb(elev, azim, side: float, T: int) -> np.ndarray:
    """Unit limb directions ``(T, 3)`` in the body frame.

    ``elev`` is the angle from straight down; ``azim`` turns the limb from
    outwards (0) to forwards (pi/2, i.e. -z) in the horizontal plane.
    """
    elev = np.broadcast_to(elev, (T, ))
    azim = np.broadcast_to(azim, (T, ))
    se = np.sin(elev)
    return np.stack(
        [side * se * np.cos(azim), -np.cos(elev), -se * np.sin(azim)], -1)


def body_pose(angles: Dict[str, np.ndarray], T: int) -> np.ndarray:
    """Joint positions ``(T, 25, 3)`` of a scale-1 body facing -z.

    The spine base is at the origin at rest; the lower ankle stays on the
    floor, then ``lift`` and ``dx`` move the whole body.
    """
    a = {**_REST, **angles}
    J = np.zeros((T, 25, 3))
    p = np.broadcast_to(a['pitch'], (T, ))
    up = np.stack([np.zeros(T), np.cos(p), -np.sin(p)], -1)
    right = np.array([1.0, 0.0, 0.0])
    for j, h in ((1, 0.26), (20, 0.50), (2, 0.57), (3, 0.72)):
        J[:, j] = h * up
    forward = np.array([0.0, 0.0, -1.0])
    arms = ((-1, 'l', (4, 5, 6, 7, 21, 22)), (1, 'r', (8, 9, 10, 11, 23, 24)))
    for side, s, (sh, el, wr, hand, tip, thumb) in arms:
        J[:, sh] = J[:, 20] + side * SHOULDER_HALF * right - 0.02 * up
        upper = _limb(a[f'{s}_sh_elev'], a[f'{s}_sh_azim'], side, T)
        fore = _limb(a[f'{s}_el_elev'], a[f'{s}_el_azim'], side, T)
        J[:, el] = J[:, sh] + UPPER_ARM * upper
        J[:, wr] = J[:, el] + FOREARM * fore
        J[:, hand] = J[:, wr] + HAND * fore
        J[:, tip] = J[:, hand] + HAND_TIP * fore
        J[:, thumb] = J[:, wr] + 0.05 * fore + 0.03 * (forward - side * right)
    legs = ((-1, 'l', (12, 13, 14, 15)), (1, 'r', (16, 17, 18, 19)))
    for side, s, (hip, knee, ankle, foot) in legs:
        J[:, hip] = [side * HIP_HALF, -HIP_DROP, 0.0]
        thigh = _limb(a[f'{s}_hip_elev'], a[f'{s}_hip_azim'], side, T)
        shin = _limb(a[f'{s}_knee_elev'], a[f'{s}_knee_azim'], side, T)
        J[:, knee] = J[:, hip] + THIGH * thigh
        J[:, ankle] = J[:, knee] + SHIN * shin
        # The foot points forward, perpendicular to the shin.
        f = forward - (shin @ forward)[:, None] * shin
        f /= np.linalg.norm(f, axis=-1, keepdims=True) + 1e-9
        J[:, foot] = J[:, ankle] + FOOT * f
    ground = ANKLE_REST_Y - np.minimum(J[:, 14, 1], J[:, 18, 1])
    J[:, :, 1] += (ground + np.broadcast_to(a['lift'], (T, )))[:, None]
    J[:, :, 0] += np.broadcast_to(a['dx'], (T, ))[:, None]
    return J


def sample_name(index: int) -> Tuple[str, int, int]:
    """Name prefix, camera and subject of a class's ``index``-th sample.

    Subjects cycle with period 10 and cameras with period 3; as the periods
    are coprime, 30 consecutive samples cover every (subject, camera) pair
    once, then replications and setups advance. Any ``num_per_class`` that
    is a multiple of 10 thus splits X-Sub exactly 80/20, and even a few
    samples per class cover all three views.
    """
    subject = SUBJECTS[index % len(SUBJECTS)]
    camera = index % 3 + 1
    replication = index // (3 * len(SUBJECTS)) % 2 + 1
    setup = index // (6 * len(SUBJECTS)) + 1
    return (f'S{setup:03d}C{camera:03d}P{subject:03d}R{replication:03d}',
            camera, subject)


def make_skeleton(rng: np.random.Generator, label: int, camera: int,
                  subject: int, num_frames: int) -> np.ndarray:
    """Camera-space joints ``(T, 25, 3)`` of one sample of class ``label``.
    """
    fn, freq = MOTIONS[CLASS_NAMES[label]]
    freq *= rng.uniform(0.75, 1.3)
    phase = rng.uniform(
        0, 2 * np.pi) + 2 * np.pi * freq * np.arange(num_frames) / FPS
    J = body_pose(fn(phase, rng.uniform(0.75, 1.15)), num_frames)
    # Each subject has a body size; it varies a little between recordings.
    scale = (0.88 + 0.24 * (subject * 7 % 10) / 9) * rng.uniform(0.97, 1.03)
    yaw = np.deg2rad(CAMERA_YAW_DEG[camera] + rng.uniform(-15, 15))
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    shift = [
        rng.uniform(-0.35, 0.35),
        rng.uniform(-0.2, -0.05),
        rng.uniform(2.8, 3.6)
    ]
    return scale * J @ rot.T + shift


def _smooth_offsets(rng: np.random.Generator,
                    num_frames: int,
                    sigma: float,
                    knots: int = 4) -> np.ndarray:
    """A slowly varying offset ``(T, 25, 3)`` per joint: normal knots of
    std ``sigma`` interpolated linearly over the clip."""
    values = rng.normal(0, sigma, (knots, 25, 3))
    at = np.linspace(0, knots - 1, num_frames)
    low = np.minimum(at.astype(int), knots - 2)
    frac = (at - low)[:, None, None]
    return values[low] * (1 - frac) + values[low + 1] * frac


def kinect_errors(rng: np.random.Generator,
                  xyz: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """What a Kinect v2 reports for the true joints ``xyz`` ``(T, 25, 3)``.

    Returns:
        tuple: The reported joints ``(T, 25, 3)`` and which frames have a
        body ``(T, )`` (bool; at least one does).
    """
    T = len(xyz)
    out = xyz + rng.normal(0, JITTER_M, xyz.shape)
    out += _smooth_offsets(rng, T, DRIFT_M)
    for _ in range(rng.poisson(SNAPS_PER_CLIP)):
        joint = int(rng.choice(EXTREMITIES))
        start = int(rng.integers(0, T))
        stop = start + int(rng.integers(3, 13))
        out[start:stop, joint] = out[start:stop, MIRROR[joint]]
    if rng.random() < TRACKING_FAILURE_RATE:
        out += _smooth_offsets(rng, T, FAILED_NOISE_M, knots=8)
        out += rng.normal(0, FAILED_NOISE_M / 2, xyz.shape)
    present = np.ones(T, bool)
    if T > 3 and rng.random() < LOST_RUN_RATE:
        length = int(rng.integers(1, T // 3 + 1))
        start = int(rng.integers(0, T - length + 1))
        present[start:start + length] = False
    return out, present


def project(xyz: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Pinhole projection of camera-space points to ``(H, W)`` pixels.

    As in Kinect's (mirrored) colour frame, pixel x grows with x.
    """
    H, W = size
    focal = 1.1 * H
    z = xyz[..., 2]
    return np.stack(
        [W / 2 + focal * xyz[..., 0] / z, H / 2 - focal * xyz[..., 1] / z], -1)


def skeleton_text(xyz: np.ndarray,
                  body_id: int,
                  size: Tuple[int, int],
                  present: Optional[np.ndarray] = None) -> str:
    """Render joints ``(T, 25, 3)`` as ``.skeleton`` text (CRLF); frames
    where ``present`` (``(T, )`` bool, default all) is False have no body,
    as when Kinect loses the subject."""
    uv = project(xyz, size)
    if present is None:
        present = np.ones(len(xyz), bool)

    def fmt(v) -> str:
        return ' '.join(f'{float(x):.7g}' for x in v)

    lines = [str(len(xyz))]
    for t in range(len(xyz)):
        if not present[t]:
            lines.append('0')
            continue
        # leanY follows the trunk's forward tilt, as Kinect reports it.
        trunk = xyz[t, 20] - xyz[t, 0]
        lean_y = -trunk[2] / (np.linalg.norm(trunk) + 1e-9)
        lines += ['1', f'{body_id} 0 1 1 1 1 0 0 {lean_y:.7g} 2', '25']
        for j in range(25):
            lines.append(f'{fmt(xyz[t, j])} {fmt(uv[t, j])} {fmt(uv[t, j])} '
                         '0 0 0 0 2')
    return '\r\n'.join(lines) + '\r\n'


def lab_background(seed: int, camera: int, size) -> np.ndarray:
    """The float32 BGR background camera ``camera`` sees in every clip:
    one tinted, textured room with furniture, as NTU's cameras each see
    one lab."""
    rng = np.random.default_rng([seed, LAB_STREAM, camera])
    H, W = size
    img = np.empty((H, W, 3), np.float32)
    img[:] = rng.uniform(60, 190, 3)
    img += cv2.resize(
        rng.normal(0, 25, (4, 4, 3)).astype(np.float32), (W, H),
        interpolation=cv2.INTER_CUBIC)
    img += rng.normal(0, 8, (H, W, 1)).astype(np.float32)
    for _ in range(rng.integers(3, 7)):
        _draw_shape(img, **_random_shape(rng, size))
    return img


def subject_look(seed: int, subject: int,
                 rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """BGR colours of a subject's shirt, trousers and skin: the skin is
    the subject's (keyed by ``seed`` and ``subject``), the clothes are
    drawn from ``rng``, so they change between recordings and a model
    cannot tell the class by who performs it."""
    skin_rng = np.random.default_rng([seed, LOOK_STREAM, subject])
    return dict(
        shirt=rng.uniform(20, 235, 3),
        trousers=rng.uniform(20, 160, 3),
        skin=np.array([90, 130, 190]) * skin_rng.uniform(0.5, 1.1))


def _random_shape(rng: np.random.Generator, size) -> dict:
    H, W = size
    return dict(
        round_=bool(rng.random() < 0.5),
        center=rng.uniform(0, (W, H)),
        extent=rng.uniform(0.05, 0.2) * H,
        colour=tuple(float(v) for v in rng.uniform(0, 255, 3)))


def _draw_shape(img, round_: bool, center, extent: float, colour) -> None:
    x, y = center
    if round_:
        cv2.circle(img, (int(x), int(y)), int(extent), colour, -1)
    else:
        cv2.rectangle(img, (int(x - extent), int(y - extent / 2)),
                      (int(x + extent), int(y + extent / 2)), colour, -1)


def object_polygons(xyz: np.ndarray, held: tuple,
                    size: Tuple[int, int]) -> np.ndarray:
    """Pixel corners ``(T, 4, 2)`` of a held object in every frame.

    Args:
        xyz (np.ndarray): Camera-space joints ``(T, 25, 3)``.
        held (tuple): An :data:`OBJECTS` entry.
        size (tuple[int, int]): Video ``(H, W)``.
    """
    shape, (long, short), _, joints = held
    centre = xyz[:, list(joints)].mean(1)
    if shape == 'box':  # upright, long side horizontal
        along = np.broadcast_to([long / 2, 0, 0], centre.shape)
        across = np.broadcast_to([0, short / 2, 0], centre.shape)
    else:  # a stick from the hand along the forearm
        along = xyz[:, 11] - xyz[:, 10]
        along = along / (np.linalg.norm(along, axis=-1, keepdims=True) +
                         1e-9) * long / 2
        centre = centre + along
        across = np.cross(along, [0, 0, 1])
        across *= short / 2 / (
            np.linalg.norm(across, axis=-1, keepdims=True) + 1e-9)
    corners = np.stack([
        centre - along - across, centre + along - across,
        centre + along + across, centre - along + across
    ], 1)
    return project(corners, size)


def render_video(path: str,
                 xyz: np.ndarray,
                 rng: np.random.Generator,
                 size: Tuple[int, int],
                 background: np.ndarray,
                 look: Dict[str, np.ndarray],
                 held: Optional[tuple] = None) -> None:
    """Film the body ``(T, 25, 3)`` (camera space) into an MJPG video.

    The person is drawn in their ``look`` (:func:`subject_look`: shirt
    over the torso and upper arms, skin for the forearms, hands and head,
    trousers) in front of the camera's ``background``
    (:func:`lab_background`), holding ``held`` (an :data:`OBJECTS` entry)
    in a colour near its own. A shape drifts across the frame, and the
    clip's exposure and every frame's sensor noise vary, so RGB holds
    motion and appearance unrelated to the class; in
    :data:`OCCLUSION_RATE` of the clips a shape hides the whole body.
    """
    H, W = size
    uv = project(xyz, size)
    focal = 1.1 * H
    depth = float(np.median(xyz[..., 2]))

    def pixels(metres: float) -> int:
        return max(1, int(round(focal * metres / depth)))

    def colour(c) -> tuple:
        return tuple(float(v) for v in np.clip(c, 0, 255))

    shirt, trousers, skin = (
        colour(look[k]) for k in ('shirt', 'trousers', 'skin'))
    limb, head, hand = (
        pixels(m) for m in (LIMB_WIDTH_M, HEAD_RADIUS_M, HAND_RADIUS_M))
    exposure = rng.uniform(0.75, 1.25) * rng.uniform(0.92, 1.08, 3)
    distractor = _random_shape(rng, size)
    velocity = rng.uniform(-1, 1, 2) * H / 40
    polygons = held_colour = None
    if held is not None:
        polygons = np.round(object_polygons(xyz, held, size) * 16).astype(
            np.int32)
        held_colour = colour(np.add(held[2], rng.uniform(-20, 20, 3)))
    occluder = None
    if rng.random() < OCCLUSION_RATE:
        low, high = uv.min((0, 1)), uv.max((0, 1))
        margin = 0.1 * (high - low) + 2
        occluder = (tuple(int(v) for v in low - margin),
                    tuple(int(v) for v in high + margin),
                    colour(rng.uniform(0, 255, 3)))
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), FPS,
                             (W, H))
    if not writer.isOpened():
        raise RuntimeError(f'{path}: cv2.VideoWriter cannot write MJPG')
    pts = np.round(uv * 16).astype(np.int32)  # 4 fractional bits

    def lines(frame, pairs, col, width, t) -> None:
        for a, b in pairs:
            cv2.line(frame, tuple(pts[t, a]), tuple(pts[t, b]), col, width,
                     cv2.LINE_AA, 4)

    try:
        for t in range(len(uv)):
            frame = background.copy()
            _draw_shape(
                frame, **{
                    **distractor, 'center': distractor['center'] + t * velocity
                })
            lines(frame, LEGS, trousers, limb, t)
            lines(frame, FEET, (40., 40., 40.), limb, t)
            cv2.fillConvexPoly(frame, pts[t, list(TORSO)], shirt, cv2.LINE_AA,
                               4)
            lines(frame, SLEEVES, shirt, limb, t)
            lines(frame, FOREARMS, skin, max(1, limb - 1), t)
            cv2.circle(frame, tuple(pts[t, 3]), 16 * head, skin, -1,
                       cv2.LINE_AA, 4)
            for j in (7, 11):
                cv2.circle(frame, tuple(pts[t, j]), 16 * hand, skin, -1,
                           cv2.LINE_AA, 4)
            if polygons is not None:
                cv2.fillConvexPoly(frame, polygons[t], held_colour,
                                   cv2.LINE_AA, 4)
            if occluder is not None:
                cv2.rectangle(frame, *occluder, -1)
            frame *= exposure.astype(np.float32)
            frame += rng.normal(0, 4, frame.shape).astype(np.float32)
            writer.write(np.clip(frame, 0, 255).astype(np.uint8))
    finally:
        writer.release()


def _write_video(path: Path, xyz: np.ndarray, seq: np.random.SeedSequence,
                 size: Tuple[int, int], **scene) -> None:
    """Render ``xyz`` atomically to ``path`` and check its frame count;
    ``scene`` goes to :func:`render_video`."""
    with atomic_output(path) as tmp:
        render_video(tmp, xyz, np.random.default_rng(seq), size, **scene)
        count = read_video_info(tmp)[0]
        if count != len(xyz):
            raise RuntimeError(f'{path}: wrote {count} frames, expected '
                               f'{len(xyz)}')


def _generate_sample(job: Tuple[int, int], out_dir: Path, seed: int,
                     size: Tuple[int, int], frame_range: Tuple[int,
                                                               int]) -> str:
    """Write one sample's missing files; return its name."""
    label, index = job
    prefix, camera, subject = sample_name(index)
    name = f'{prefix}A{label + 1:03d}'
    skel_path = out_dir / SKELETON_DIR / f'{name}.skeleton'
    video_path = out_dir / VIDEO_DIR / f'{name}_rgb.avi'
    if skel_path.exists() and video_path.exists():
        return name
    # Separate streams, so either file can be regenerated alone and still
    # match the other.
    motion_seq, render_seq, look_seq = np.random.SeedSequence(
        [seed, label, index]).spawn(3)
    rng = np.random.default_rng(motion_seq)
    num_frames = int(rng.integers(frame_range[0], frame_range[1] + 1))
    body_id = 2**56 + int(rng.integers(1000, 100000))  # Kinect-like uint64
    xyz = make_skeleton(rng, label, camera, subject, num_frames)
    # RGB sees the true body; the skeleton file holds Kinect's estimate.
    reported, present = kinect_errors(rng, xyz)
    # Converters list samples by their skeletons, so the skeleton comes
    # last: a run stopped in between leaves a video alone, never a
    # skeleton whose video is missing. An orphan skeleton (an older
    # version's, or its video deleted) goes first for the same reason.
    if not video_path.exists():
        skel_path.unlink(missing_ok=True)
        _write_video(
            video_path,
            xyz,
            render_seq,
            size,
            background=lab_background(seed, camera, size),
            look=subject_look(seed, subject, np.random.default_rng(look_seq)),
            held=OBJECTS.get(CLASS_NAMES[label]))
    with atomic_output(skel_path) as tmp:
        Path(tmp).write_bytes(
            skeleton_text(reported, body_id, size, present).encode('ascii'))
    return name


def _as_int(value, what: str) -> int:
    """``value`` as an int (numpy integers too, not floats)."""
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f'{what} must be an integer, got {value!r}') from None


def _int_pair(value: Sequence[int], what: str) -> Tuple[int, int]:
    """``value`` as a pair of ints."""
    if isinstance(value, (str, bytes)) or len(value) != 2:
        raise ValueError(f'{what} must be two integers, got {value!r}')
    return _as_int(value[0], what), _as_int(value[1], what)


def checked_options(seed: int, num_classes: int, num_per_class: int,
                    size: Sequence[int],
                    frame_range: Sequence[int]) -> Dict[str, object]:
    """The generation options as recorded in :data:`OPTIONS_FILE`.

    Everything that decides the files' bytes is here (``workers`` and
    ``progress`` do not), as JSON types, so a folder's recorded options
    compare equal to a re-run's exactly when the re-run would write the
    same files.

    Raises:
        ValueError: An option that cannot be generated or rendered.
    """
    seed = _as_int(seed, 'seed')
    num_classes = _as_int(num_classes, 'num_classes')
    num_per_class = _as_int(num_per_class, 'num_per_class')
    (height, width), (low, high) = (_int_pair(size, 'size'),
                                    _int_pair(frame_range, 'frame_range'))
    if seed < 0:  # numpy's SeedSequence takes no negative entropy
        raise ValueError(f'seed must be >= 0, got {seed}')
    if not 1 <= num_classes <= len(CLASS_NAMES):
        raise ValueError(f'num_classes must be in [1, {len(CLASS_NAMES)}], '
                         f'got {num_classes}')
    if num_per_class < 1:
        raise ValueError(f'num_per_class must be >= 1, got {num_per_class}')
    if not 1 <= low <= high:
        raise ValueError('frame_range must be (min, max) frames with '
                         f'1 <= min <= max, got ({low}, {high})')
    if min(height, width) < MIN_VIDEO_SIDE or height % 2 or width % 2:
        # The MJPG writer silently drops an odd row or column, so the
        # video would no longer match the skeleton's pixel coordinates.
        raise ValueError(f'size (H, W) = ({height}, {width}) cannot be '
                         f'rendered: both sides must be even and at least '
                         f'{MIN_VIDEO_SIDE} pixels')
    return dict(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        num_classes=num_classes,
        num_per_class=num_per_class,
        size=[height, width],
        frame_range=[low, high])


def _has_data(out: Path) -> bool:
    """Whether ``out`` holds the dataset's files (hidden ones aside)."""
    if (out / LABEL_MAP).exists():
        return True
    return any(not entry.name.startswith('.')
               for sub in (SKELETON_DIR, VIDEO_DIR) if (out / sub).is_dir()
               for entry in (out / sub).iterdir())


def _read_options(path: Path) -> dict:
    """The options recorded in ``path``."""
    try:
        options = json.loads(path.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(
            f'{path}: cannot read the recorded options ({e})') from None
    if not isinstance(options, dict):
        raise ValueError(f'{path}: expected a JSON object of options')
    return options


def claim_folder(out: Path, options: Dict[str, object]) -> None:
    """Record ``options`` in ``out``, or check those recorded there.

    Resuming needs the same options: other ones would keep the old
    samples beside new ones and relabel them all in ``label_map.txt``.

    Raises:
        FileExistsError: ``out`` was made with other options, or holds
            the dataset's files without :data:`OPTIONS_FILE` (made by
            hand or by an older version, options unknown).
    """
    path = out / OPTIONS_FILE
    if path.exists():
        recorded = _read_options(path)
        differ = [
            f'{key}: {recorded.get(key)!r} there, {value!r} asked'
            for key, value in options.items() if recorded.get(key) != value
        ]
        if differ:
            raise FileExistsError(
                f'{out}: holds synthetic data made with other options '
                f'({"; ".join(differ)}; see {OPTIONS_FILE}); pass the same '
                'options to resume, or use another (or an empty) folder')
        return
    if _has_data(out):
        raise FileExistsError(
            f'{out}: holds dataset files but no {OPTIONS_FILE} (made by '
            'hand or by an older mmamr), so its options are unknown; use '
            'another (or an empty) folder, or delete this one')
    write_text_atomic(json.dumps(options, indent=2) + '\n', path)


def generate_synthetic(out_dir: str,
                       seed: int = 0,
                       num_classes: int = 10,
                       num_per_class: int = 40,
                       size: Tuple[int, int] = (64, 64),
                       frame_range: Tuple[int, int] = (40, 80),
                       workers: int = 1,
                       progress: bool = False) -> List[str]:
    """Write the synthetic dataset under ``out_dir``.

    Layout: ``nturgb+d_skeletons/<name>.skeleton``,
    ``nturgb+d_rgb/<name>_rgb.avi``, ``label_map.txt`` (class names,
    one per line, line ``i`` = label ``i``) and ``synthetic_options.json``
    (the options below but ``workers`` and ``progress``). A re-run with
    the same options resumes; with other ones it is refused.

    Args:
        out_dir (str): Output folder (created if needed).
        seed (int): Random seed. Defaults to 0.
        num_classes (int): Classes, the first ``num_classes`` of
            :data:`CLASS_NAMES` (at most 14). Defaults to 10.
        num_per_class (int): Samples per class. Defaults to 40.
        size (tuple[int, int]): Video ``(H, W)``. Defaults to (64, 64).
        frame_range (tuple[int, int]): Inclusive range of frame counts.
            Defaults to (40, 80).
        workers (int): Parallel processes. Defaults to 1.
        progress (bool): Show a progress bar. Defaults to False.

    Returns:
        list[str]: Sample names, class-major.

    Raises:
        ValueError: Options that cannot be generated (nothing is written).
        FileExistsError: ``out_dir`` holds data made with other options,
            or data without :data:`OPTIONS_FILE` (see
            :func:`claim_folder`; nothing is written).
    """
    options = checked_options(seed, num_classes, num_per_class, size,
                              frame_range)
    out = Path(out_dir)
    claim_folder(out, options)
    for stem in (Path(OPTIONS_FILE).stem, Path(LABEL_MAP).stem):
        remove_temporaries(out, stem)  # of an interrupted run; not others'
    for sub in (SKELETON_DIR, VIDEO_DIR):
        (out / sub).mkdir(parents=True, exist_ok=True)
        remove_temporaries(out / sub)
    jobs = [(c, i) for c in range(num_classes) for i in range(num_per_class)]
    fn = partial(
        _generate_sample,
        out_dir=out,
        seed=options['seed'],
        size=tuple(options['size']),
        frame_range=tuple(options['frame_range']))
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(multiprocessing.Pool(workers))
            names = pool.imap(fn, jobs, chunksize=4)
        else:
            names = map(fn, jobs)
        if progress:
            names = with_progress(names, len(jobs))
        names = list(names)
    write_text_atomic(''.join(n + '\n' for n in CLASS_NAMES[:num_classes]),
                      out / LABEL_MAP)
    return names


def load_label_map(path: str) -> List[str]:
    """Class names of a label-map file, one per line."""
    return [
        line.strip() for line in Path(path).read_text().splitlines()
        if line.strip()
    ]
