# Copyright (c) mmamr contributors. All rights reserved.
"""Videos -> 2-D skeletons (person detection + top-down pose) -> the
annotation pickle of the NTU and iMiGUE converters.

One annotation per video::

    dict(frame_dir='<path without extension>',
         label=3,                              # when a video list gives it
         total_frames=T,                       # frames OpenCV decodes
         keypoint=(M, T, V, 2) float32,        # pixels of the video
         keypoint_score=(M, T, V) float32,     # in [0, 1], 0 = none
         img_shape=(H, W), original_shape=(H, W),
         video='<path relative to the video folder>')

``V`` is the pose model's joint count (17, COCO order, for the default
RTMPose). Frames are decoded in order with OpenCV, as
``RGBSkeletonDecode`` reads them for training, so skeleton frame ``t`` is
video frame ``t``. The ``M`` people kept are the most confident and
persistent tracks (:mod:`.person_tracks`).

The estimator is any callable ``frames -> list[FramePoses]``; the real one
is :class:`mmamr.data_prep.person_pose_estimator.PersonPoseEstimator` (the
``pose`` extra). Resumable and atomic like the other converters: each
video is a job cached in the work dir (see :mod:`.conversion.resumable`).
"""
import os
from dataclasses import dataclass
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log

from .conversion import (JobOutput, ResumableRun, prepare_output_dirs,
                         refuse_overwrite)
from .person_tracks import FramePoses, select_persons
from .video_list import ALL_SPLIT, VideoItem, collect_videos

CACHE_FORMAT = 1
Estimator = Callable[[Sequence[np.ndarray]], List[FramePoses]]


@dataclass(frozen=True)
class VideoJob:
    """One video to convert."""

    item: VideoItem
    path: str
    max_persons: int
    batch_size: int
    iou_thr: float


def job_fingerprint(job: VideoJob) -> str:
    """What a video's cached output holds besides the poses: its label.

    The cache is reused only while this is unchanged, so a label edited in
    a video list redoes that video alone (splits are not cached: they are
    read from the lists at every run).
    """
    return f'label={job.item.label}'


def read_batches(path: str, batch_size: int):
    """Yield lists of at most ``batch_size`` BGR frames, in order.

    Raises:
        ValueError: The video cannot be opened or has no frame.
    """
    if not os.path.isfile(path):
        raise ValueError(f'{path}: video not found')
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise ValueError(f'{path}: cannot open video')
        batch, count = [], 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            batch.append(frame)
            count += 1
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch
        if count == 0:
            raise ValueError(f'{path}: cannot read a frame from this video')
    finally:
        cap.release()


def _frame_count(path: str) -> int:
    """The container's frame count, for the progress bar only."""
    cap = cv2.VideoCapture(path)
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        cap.release()


def extract_video(job: VideoJob,
                  estimator: Estimator,
                  progress: bool = False) -> JobOutput:
    """The annotation of one video (see the module docstring).

    Raises:
        ValueError: The video is missing or unreadable, or nobody is
            detected in any frame.
    """
    frames: List[FramePoses] = []
    shape = None
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(
            total=_frame_count(job.path) or None,
            desc=job.item.frame_dir[-30:],
            unit='frame',
            leave=False)
    try:
        for batch in read_batches(job.path, job.batch_size):
            shape = shape or batch[0].shape[:2]
            frames.extend(estimator(batch))
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    keypoint, score = select_persons(
        frames, job.max_persons, iou_thr=job.iou_thr)
    if not score.any():
        raise ValueError(
            f'{job.path}: nobody detected in any of its {len(frames)} frames '
            '(lower --det-score-thr, or --skip-invalid to leave it out)')
    ann = dict(
        frame_dir=job.item.frame_dir,
        total_frames=len(frames),
        keypoint=keypoint,
        keypoint_score=score,
        img_shape=tuple(shape),
        original_shape=tuple(shape),
        video=job.item.path)
    if job.item.label is not None:
        ann['label'] = job.item.label
    return JobOutput(annotations=[ann])


def extract_skeletons(video_dir: str,
                      out_file: str,
                      estimator: Estimator,
                      model_options: Dict,
                      split_lists: Optional[Dict[str, str]] = None,
                      max_persons: int = 2,
                      batch_size: int = 16,
                      iou_thr: float = 0.3,
                      progress: bool = False,
                      work_dir: Optional[str] = None,
                      keep_work_dir: bool = False,
                      overwrite: bool = False,
                      skip_invalid: bool = False,
                      return_annotations: bool = True) -> dict:
    """Extract the 2-D skeletons of a folder of videos into one pickle.

    Re-running after an interruption converts only the videos not done
    yet; the pickle appears (atomically) once every video is done.

    Args:
        video_dir (str): Folder of the videos; annotations' ``video`` are
            relative to it.
        out_file (str): Pickle to write.
        estimator (callable): ``frames -> list[FramePoses]``, e.g. a
            :class:`~mmamr.data_prep.person_pose_estimator.PersonPoseEstimator`.
        model_options (dict): JSON-serialisable settings of the estimator
            (configs, checkpoints, thresholds); saved in the work dir so
            that a resumed run cannot mix results of different models.
        split_lists (dict, optional): ``split -> mmaction2 video list``
            (``<video> [<label>]`` lines, videos relative to ``video_dir``);
            without it every video is taken, unlabelled, in split ``all``.
            Defaults to None.
        max_persons (int): ``M``, people kept per video. Defaults to 2.
        batch_size (int): Frames per forward pass. Defaults to 16.
        iou_thr (float): Box IoU linking a person across frames
            (:func:`~.person_tracks.link_tracks`). Defaults to 0.3.
        progress (bool): Progress bars (videos, frames). Defaults to False.
        work_dir, keep_work_dir, overwrite: As
            :func:`~.ntu_converter.convert_ntu` (per video here).
        skip_invalid (bool): Skip (count, list in
            ``<out_file>.skipped.txt``) unreadable videos and videos where
            nobody is detected, instead of stopping. Defaults to False.
        return_annotations (bool): Read the annotations back into the
            result. Defaults to True.

    Returns:
        dict: ``split``, ``num_samples``, ``skipped`` (``(video, reason)``
        pairs) and, with ``return_annotations``, ``annotations``.
    """
    if batch_size < 1 or max_persons < 1:
        raise ValueError('batch_size and max_persons must be >= 1, got '
                         f'{batch_size} and {max_persons}')
    refuse_overwrite(out_file, overwrite)  # before reading any input
    video_dir = os.path.abspath(video_dir)
    items = collect_videos(video_dir, split_lists)
    if not items:
        raise ValueError(f'{video_dir}: no video to convert')
    prepare_output_dirs(out_file)
    jobs = [(item.key,
             VideoJob(
                 item=item,
                 path=os.path.join(video_dir, item.path),
                 max_persons=max_persons,
                 batch_size=batch_size,
                 iou_thr=iou_thr)) for item in items]
    run = ResumableRun(
        work_dir or f'{out_file}.work',
        dict(
            model_options,
            video_dir=video_dir,
            split_lists={
                name: os.path.abspath(path)
                for name, path in (split_lists or {}).items()
            },
            max_persons=max_persons,
            iou_thr=iou_thr,
            format=CACHE_FORMAT),
        skip_invalid=skip_invalid)
    # One process: the models hold the memory and the threads (or the GPU).
    ran = run.run(
        jobs,
        partial(extract_video, estimator=estimator, progress=progress),
        progress=progress,
        fingerprint=job_fingerprint)
    # Name a video skipped as a whole by its path, not its job key.
    paths = {item.key: item.path for item in items}
    for key, reasons in run.failed.items():
        run.failed[key] = [(paths[key], reason) for _, reason in reasons]
    splits = {item.path: item.splits for item in items}
    split_names = list(split_lists) if split_lists else [ALL_SPLIT]
    result = run.write_pickle(
        out_file, [key for key, _ in jobs],
        split_of=lambda ann: splits[ann['video']],
        split_names=split_names,
        skipped=[],
        keep_work_dir=keep_work_dir,
        return_annotations=return_annotations)
    print_log(
        f'Skeletons: {result["num_samples"]} videos ({ran} extracted now), '
        f'{len(result["skipped"])} skipped -> {out_file}',
        logger='current')
    return result
