# Copyright (c) mmamr contributors. All rights reserved.
"""iMiGUE labels CSV + OpenPose JSON (+ long videos) -> annotation pickle
and clip videos.

One annotation per clip of the CSV (:mod:`.imigue_labels`)::

    dict(frame_dir='0298_0001', label=3, total_frames=T,
         keypoint=(M, T, 25, 2) float32,       # BODY_25 pixels of the clip
         keypoint_score=(M, T, 25) float32,    # OpenPose confidence
         img_shape=(h, w), original_shape=(H, W),
         video='0298_0001.mp4',                # with video_dir only
         video_id=298, subject_id=22, start_frame=168, end_frame=257)

The clip's frames ``start_frame..end_frame`` are cut from the long video
``<video_dir>/<video_template>`` in one sequential pass (frames numbered as
OpenCV decodes them, as OpenPose numbered its JSON files), re-encoded to
``<out_video_dir>/<frame_dir>.mp4`` with short side ``short_side`` at 25
fps, and the keypoints are scaled to that size (``img_shape``;
``original_shape`` is the long video's size). Without videos,
``img_shape = original_shape`` must be given.

Persons: each frame keeps the ``M`` (default 1: the interviewed player)
people with the largest summed joint confidence, most confident first
(:func:`~.openpose_json.select_persons`); missing people, frames without
detections and undetected joints are zeros with score 0.

Malformed input (a JSON frame that is not BODY_25, a missing JSON frame,
a CSV row whose end precedes its start, a video shorter than a clip, a
video not at 25 fps, keypoints outside the video frame, a clip where
nobody is ever detected) raises ``ValueError`` naming the file, or with
``skip_invalid`` is skipped, counted and listed in
``<out_file>.skipped.txt``.
"""
import dataclasses
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

from .conversion import (JobOutput, ResumableRun, VideoSink,
                         prepare_output_dirs, refuse_overwrite, resized_shape,
                         scale_factor, single_threaded_cv2)
from .formats.imigue_labels import (FPS, SPLITS, Clip, read_labels,
                                    subject_split)
from .formats.openpose_json import (BODY_25_JOINTS, frame_files,
                                    read_openpose_frame, select_persons)

Shape = Tuple[int, int]
CACHE_FORMAT = 1
# Keypoints may sit a little outside the frame (joints extrapolated at the
# border); farther out, the video is not the one OpenPose saw.
FRAME_MARGIN = 0.02


@dataclass(frozen=True)
class VideoJob:
    """Everything needed to convert the clips of one long video."""

    video_id: int
    clips: Tuple[Clip, ...]
    pose_dir: str
    video_path: Optional[str]
    out_video_dir: Optional[str]
    short_side: Optional[int]
    img_shape: Optional[Shape]
    max_persons: int
    skip_invalid: bool


def job_fingerprint(job: VideoJob) -> str:
    """What the output of a video's job depends on, as text: its clips'
    CSV rows and its settings.

    A cached video is reused only while this is unchanged, so editing a
    row (label, frames, subject) redoes that video alone. Left out: the
    rows' line numbers, which only name them in messages (a row inserted
    above must not redo every video), and ``skip_invalid`` (skips are
    never cached).
    """
    fields = dataclasses.asdict(job)
    del fields['skip_invalid']
    for clip in fields['clips']:
        del clip['line']
    return json.dumps(fields, sort_keys=True)


def clip_keypoints(clip: Clip, folder: str, files: Dict[int, Path],
                   max_persons: int, cache: Dict[int,
                                                 np.ndarray]) -> np.ndarray:
    """``(M, T, 25, 3)`` of a clip, ``(x, y, confidence)`` per joint.

    Args:
        clip (Clip): The clip.
        folder (str): The OpenPose folder of its video (for messages).
        files (dict): ``frame -> JSON file`` (:func:`frame_files`).
        max_persons (int): ``M``.
        cache (dict): ``frame -> (M, 25, 3)`` already read for this video.

    Raises:
        ValueError: A frame's JSON is missing or malformed, or nobody is
            detected in any frame.
    """
    frames = []
    for t in range(clip.start, clip.end + 1):
        if t not in cache:
            if t not in files:
                raise ValueError(
                    f'{folder}: no OpenPose JSON for frame {t} (expected '
                    f'*_{t:012d}_keypoints.json) of clip {clip.name}, '
                    f'frames {clip.start}-{clip.end}')
            cache[t] = select_persons(
                read_openpose_frame(files[t], BODY_25_JOINTS), max_persons)
        frames.append(cache[t])
    keypoint = np.stack(frames, axis=1)
    if not keypoint[..., 2].any():
        raise ValueError(f'{folder}: nobody detected in any of the '
                         f'{clip.num_frames} frames of clip {clip.name}')
    return keypoint


def check_in_frame(keypoint: np.ndarray, shape: Shape, clip: Clip,
                   source: str) -> None:
    """Fail if detected joints lie outside the ``(H, W)`` frame."""
    detected = keypoint[..., 2] > 0
    if not detected.any():
        return
    x, y = keypoint[..., 0][detected], keypoint[..., 1][detected]
    height, width = shape
    if (x.min() < -FRAME_MARGIN * width or y.min() < -FRAME_MARGIN * height
            or x.max() > (1 + FRAME_MARGIN) * width
            or y.max() > (1 + FRAME_MARGIN) * height):
        raise ValueError(
            f'clip {clip.name}: keypoints span x {x.min():.0f}..'
            f'{x.max():.0f}, y {y.min():.0f}..{y.max():.0f}, outside the '
            f'{width} x {height} frame of {source} (not the video OpenPose '
            'ran on?)')


def _open_video(path: str) -> Tuple[cv2.VideoCapture, np.ndarray]:
    """Open a long video at 25 fps and decode its first frame."""
    if not os.path.isfile(path):
        raise ValueError(f'{path}: video not found')
    cap = cv2.VideoCapture(path)
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        cap.release()
        raise ValueError(f'{path}: cannot read a frame from this video')
    fps = cap.get(cv2.CAP_PROP_FPS)
    if abs(fps - FPS) > 0.01 * FPS:
        cap.release()
        raise ValueError(f'{path}: {fps:g} fps, but iMiGUE frame numbers '
                         f'count at {FPS} fps')
    return cap, first


def cut_clips(cap: cv2.VideoCapture, first: np.ndarray, path: str,
              clips: Sequence[Clip], out_video_dir: str,
              shape: Shape) -> Dict[str, str]:
    """Write each clip's frames to ``<out_video_dir>/<name>.mp4``.

    One pass over the video decodes only the frames some clip needs
    (others are just grabbed); overlapping clips are written side by side.

    Returns:
        dict: ``clip name -> reason`` for the clips the video is too short
        for (no file is written for them).
    """
    starts, ends = defaultdict(list), defaultdict(list)
    for clip in clips:
        starts[clip.start].append(clip)
        ends[clip.end].append(clip)
    last = max(clip.end for clip in clips)
    active: Dict[str, VideoSink] = {}
    frame, t = first, 0
    try:
        while True:
            for clip in starts.get(t, ()):
                active[clip.name] = VideoSink(
                    os.path.join(out_video_dir, f'{clip.name}.mp4'), FPS,
                    shape)
            for sink in active.values():
                sink.write(frame)
            for clip in ends.get(t, ()):
                active.pop(clip.name).commit()
            t += 1
            if t > last:
                break
            # Decoding to pixels is the costly part; skip it between clips.
            if active or t in starts:
                ok, frame = cap.read()
            else:
                ok, frame = cap.grab(), None
            if not ok:
                break
    finally:
        for sink in active.values():
            sink.abort()
    return {
        clip.name:
        f'{path}: video has {t} frames, clip {clip.name} needs '
        f'frames {clip.start}-{clip.end}'
        for clip in clips if clip.end >= t
    }


def _read_clips(job: VideoJob, files: Dict[int, Path], original: Shape,
                source: str, output: JobOutput) -> Dict[str, np.ndarray]:
    """Keypoints ``(M, T, 25, 3)`` of the job's valid clips, by name;
    invalid clips raise or go to ``output.skipped``."""
    keypoints, cache = {}, {}
    for clip in job.clips:
        try:
            keypoint = clip_keypoints(clip, job.pose_dir, files,
                                      job.max_persons, cache)
            check_in_frame(keypoint, original, clip, source)
        except ValueError as e:
            if not job.skip_invalid:
                raise
            output.skipped.append((clip.name, str(e)))
            continue
        keypoints[clip.name] = keypoint
    return keypoints


def _annotation(clip: Clip, keypoint: np.ndarray, shape: Shape,
                original: Shape, with_video: bool) -> dict:
    ann = dict(
        frame_dir=clip.name,
        label=clip.label,
        total_frames=clip.num_frames,
        # Scaling keeps undetected joints at exactly (0, 0).
        keypoint=keypoint[..., :2] * scale_factor(original, shape),
        keypoint_score=keypoint[..., 2].copy(),
        img_shape=tuple(shape),
        original_shape=tuple(original),
        video_id=clip.video_id,
        subject_id=clip.subject_id,
        start_frame=clip.start,
        end_frame=clip.end)
    if with_video:
        ann['video'] = f'{clip.name}.mp4'
    return ann


def convert_video(job: VideoJob) -> JobOutput:
    """Convert the clips of one long video (see the module docstring).

    Raises:
        ValueError: Problems of the whole video (OpenPose folder or video
            missing, wrong frame rate); problems of single clips too unless
            ``job.skip_invalid``, which lists them in the output instead.
    """
    output = JobOutput()
    files = frame_files(job.pose_dir)
    too_short: Dict[str, str] = {}  # clip name -> reason
    if job.video_path is None:
        shape = original = tuple(job.img_shape)
        keypoints = _read_clips(job, files, original, f'img_shape {shape}',
                                output)
    else:
        cap, first = _open_video(job.video_path)
        try:
            original = first.shape[:2]
            shape = resized_shape(original, job.short_side)
            keypoints = _read_clips(job, files, original, job.video_path,
                                    output)
            valid = [c for c in job.clips if c.name in keypoints]
            too_short = cut_clips(cap, first, job.video_path, valid,
                                  job.out_video_dir, shape) if valid else {}
        finally:
            cap.release()
        if too_short and not job.skip_invalid:
            raise ValueError(next(iter(too_short.values())))
        output.skipped.extend(too_short.items())
    with_video = job.video_path is not None
    output.annotations = [
        _annotation(clip, keypoints[clip.name], shape, original, with_video)
        for clip in job.clips
        if clip.name in keypoints and clip.name not in too_short
    ]
    return output


def convert_imigue(label_csv: str,
                   pose_dir: str,
                   out_file: str,
                   video_dir: Optional[str] = None,
                   out_video_dir: Optional[str] = None,
                   short_side: Optional[int] = 256,
                   img_shape: Optional[Shape] = None,
                   max_persons: int = 1,
                   workers: int = 1,
                   progress: bool = False,
                   pose_dir_template: str = '{video_id}',
                   video_template: str = '{video_id}.mp4',
                   work_dir: Optional[str] = None,
                   keep_work_dir: bool = False,
                   overwrite: bool = False,
                   skip_invalid: bool = False,
                   return_annotations: bool = True) -> dict:
    """Convert iMiGUE to one annotation pickle (and clip videos).

    Resumable like :func:`~.ntu_converter.convert_ntu`: each long video is
    a job cached in ``work_dir``; re-running finishes an interrupted run
    without redoing finished videos. A video's cache holds only while its
    CSV rows are unchanged (:func:`job_fingerprint`): after editing the
    CSV, a run with the kept work dir redoes just the edited videos.

    Args:
        label_csv (str): ``labels_20200831.csv``.
        pose_dir (str): Folder of the OpenPose outputs, one sub-folder per
            video (``pose_dir_template``).
        out_file (str): Pickle to write (atomically).
        video_dir (str, optional): Folder of the long videos
            (``video_template``); without it only skeletons are converted
            and ``img_shape`` is required. Defaults to None.
        out_video_dir (str, optional): Where the clip videos go (needed
            with ``video_dir``). Defaults to None.
        short_side (int, optional): Short side of the clip videos; ``None``
            keeps the long videos' size. Defaults to 256.
        img_shape (tuple[int, int], optional): ``(H, W)`` of the frames
            OpenPose saw, when no videos are given. Defaults to None.
        max_persons (int): ``M``. Defaults to 1.
        workers (int): Parallel processes (one video each). Defaults to 1.
        progress (bool): Show a progress bar. Defaults to False.
        pose_dir_template (str): Sub-folder of ``pose_dir`` holding the
            JSON frames of a video. Defaults to ``'{video_id}'``.
        video_template (str): File name of a long video in ``video_dir``.
            Defaults to ``'{video_id}.mp4'``.
        work_dir, keep_work_dir, overwrite: As
            :func:`~.ntu_converter.convert_ntu` (per video here).
        skip_invalid (bool): Skip malformed clips (counted, listed in the
            result and ``<out_file>.skipped.txt``) instead of stopping.
            Defaults to False.
        return_annotations (bool): Read the annotations back into the
            result. Defaults to True.

    Returns:
        dict: ``split`` (``xsub_train`` / ``xsub_test``), ``num_samples``,
        ``skipped`` (``(clip, reason)`` pairs) and, with
        ``return_annotations``, ``annotations``.
    """
    if video_dir is None and img_shape is None:
        raise ValueError('without video_dir, give img_shape (H, W) of the '
                         'frames OpenPose ran on')
    if (video_dir is None) != (out_video_dir is None):
        raise ValueError('video_dir needs out_video_dir, where the clip '
                         'videos are written, and out_video_dir needs '
                         'video_dir, the long videos')
    refuse_overwrite(out_file, overwrite)  # before reading any input
    skipped: List[Tuple[str, str]] = []
    clips = read_labels(label_csv, skipped if skip_invalid else None)
    by_video: Dict[int, List[Clip]] = defaultdict(list)
    for clip in clips:
        by_video[clip.video_id].append(clip)
    prepare_output_dirs(out_file, out_video_dir)
    video_dir = None if video_dir is None else os.path.abspath(video_dir)
    settings = dict(
        out_video_dir=(None if video_dir is None else
                       os.path.abspath(out_video_dir)),
        short_side=None if video_dir is None else short_side,
        img_shape=None if video_dir is not None else tuple(img_shape),
        max_persons=max_persons)
    jobs, clip_names = [], {}
    for video_id in sorted(by_video):
        video_clips = tuple(
            sorted(by_video[video_id], key=lambda c: c.label_id))
        key = f'video_{video_id:04d}'
        clip_names[key] = [c.name for c in video_clips]
        jobs.append(
            (key,
             VideoJob(
                 video_id=video_id,
                 clips=video_clips,
                 pose_dir=os.path.join(
                     os.path.abspath(pose_dir),
                     pose_dir_template.format(video_id=video_id)),
                 video_path=None if video_dir is None else os.path.join(
                     video_dir, video_template.format(video_id=video_id)),
                 skip_invalid=skip_invalid,
                 **settings)))
    run = ResumableRun(
        work_dir or f'{out_file}.work',
        dict(
            settings,
            label_csv=os.path.abspath(label_csv),
            pose_dir=os.path.abspath(pose_dir),
            pose_dir_template=pose_dir_template,
            video_dir=video_dir,
            video_template=video_template,
            format=CACHE_FORMAT),
        skip_invalid=skip_invalid)
    ran = run.run(
        jobs,
        convert_video,
        workers=workers,
        progress=progress,
        initializer=single_threaded_cv2,
        fingerprint=job_fingerprint)
    # A video skipped as a whole counts as all its clips.
    for key, reasons in run.failed.items():
        run.failed[key] = [(name, reasons[0][1]) for name in clip_names[key]]
    result = run.write_pickle(
        out_file, [key for key, _ in jobs],
        split_of=lambda ann: [subject_split(ann['subject_id'])],
        split_names=SPLITS,
        skipped=skipped,
        keep_work_dir=keep_work_dir,
        return_annotations=return_annotations)
    print_log(
        f'iMiGUE: {result["num_samples"]} clips from {len(jobs)} videos '
        f'({ran} converted now), {len(result["skipped"])} clips skipped -> '
        f'{out_file}',
        logger='current')
    return result
