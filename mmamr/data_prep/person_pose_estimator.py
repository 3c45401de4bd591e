# Copyright (c) mmamr contributors. All rights reserved.
"""Person detection (mmdet) + top-down 2-D pose (mmpose), batched over
frames.

Needs the ``pose`` extra (``source tools/setup_env.sh pose``): full mmcv
with compiled ops, mmdet and mmpose.
"""
import importlib.util
import logging
import os.path as osp
import warnings
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmdet.apis import init_detector
from mmdet.utils import get_test_pipeline_cfg
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmpose.apis import init_model

from mmamr.data_prep.person_tracks import FramePoses

# Shipped inside the packages (their `.mim` folder), so no download is
# needed to build the models; weights are another matter (see
# docs/data_preparation.md for the model zoo checkpoints).
DEFAULT_DET_CONFIG = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
DEFAULT_POSE_CONFIG = ('mmpose::body_2d_keypoint/rtmpose/coco/'
                       'rtmpose-t_8xb256-420e_coco-256x192.py')


def resolve_config(config: str) -> str:
    """Path of a config file, or of ``'<package>::<path>'``, a config
    shipped in that OpenMMLab package (``<package>/.mim/configs/<path>``).

    Raises:
        FileNotFoundError: No such file.
    """
    path = config
    if '::' in config:
        package, rel = config.split('::', 1)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f'{config}: package {package!r} is not '
                                    'installed (the pose extra?)')
        root = list(spec.submodule_search_locations)[0]
        path = osp.join(root, '.mim', 'configs', rel)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{config}: config file {path} not found')
    return path


def warn_random_weights(what: str, option: str) -> None:
    """Say loudly that a model runs with random weights."""
    message = (f'No {what} checkpoint given: the {what} has RANDOM weights '
               'and everything it outputs is meaningless (good for tests '
               f'only). Pass {option} (docs/data_preparation.md lists the '
               'model zoo checkpoints).')
    bar = '!' * 79
    print_log(f'\n{bar}\n{message}\n{bar}', 'current', logging.WARNING)
    warnings.warn(message)


def check_device_ops(device: str) -> None:
    """Fail early when mmcv's ops cannot run on ``device`` (the detector's
    NMS is one of them)."""
    if not str(device).startswith('cuda'):
        return
    from mmcv.ops import get_compiling_cuda_version
    if not torch.cuda.is_available():
        raise ValueError(f'device {device!r}: CUDA is not available')
    if get_compiling_cuda_version() == 'not available':
        raise ValueError(
            f'device {device!r}: the installed mmcv ops were compiled '
            'without CUDA; rebuild them on a GPU machine (see the pose '
            'extra in docs/data_preparation.md) or use --device cpu')


class PersonPoseEstimator:
    """Detect people, then estimate each one's 2-D pose, for many frames at
    once.

    The detector (mmdet) finds boxes of ``det_cat_id`` (COCO's person) in a
    batch of frames; the top-down pose model (mmpose) then runs on all the
    boxes of the batch together. The results equal mmdet's
    ``inference_detector`` and mmpose's ``inference_topdown`` frame by
    frame (their test pipelines and ``test_step``), only batched.

    Joint scores are the pose model's confidences clipped to [0, 1]
    (RTMPose's SimCC maxima are not probabilities: they may exceed 1, and
    are <= 0 where the model finds no joint, which mmpose marks by placing
    the joint at -1). Joints with score 0 are set to ``(0, 0)``, the
    padding value of the skeleton transforms.

    Args:
        det_config (str): Detector config: a file, or ``'mmdet::<path>'``
            in mmdet's shipped configs. Defaults to RTMDet-tiny (COCO).
        det_checkpoint (str, optional): Detector weights (file or URL);
            ``None`` keeps random weights, with a loud warning.
        pose_config (str): Pose config, likewise (``'mmpose::<path>'``).
            Defaults to RTMPose-t (COCO, 17 joints, 256 x 192).
        pose_checkpoint (str, optional): Pose weights; ``None`` keeps
            random weights, with a loud warning.
        device (str): ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
            Defaults to ``'cpu'``.
        det_score_thr (float): Least detection score of a person.
            Defaults to 0.5.
        det_cat_id (int): Detector class of people. Defaults to 0 (COCO).
        max_persons_per_frame (int): The most confident boxes kept per
            frame (bounds the pose model's work). Defaults to 10.
        min_box_size (float): Boxes narrower or lower than this many
            pixels are dropped (a degenerate box has no pose). Defaults
            to 2.
    """

    def __init__(self,
                 det_config: str = DEFAULT_DET_CONFIG,
                 det_checkpoint: Optional[str] = None,
                 pose_config: str = DEFAULT_POSE_CONFIG,
                 pose_checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 det_score_thr: float = 0.5,
                 det_cat_id: int = 0,
                 max_persons_per_frame: int = 10,
                 min_box_size: float = 2.0) -> None:
        check_device_ops(device)
        if det_checkpoint is None:
            warn_random_weights('person detector', '--det-checkpoint')
        if pose_checkpoint is None:
            warn_random_weights('pose model', '--pose-checkpoint')
        self.det_score_thr = det_score_thr
        self.det_cat_id = det_cat_id
        self.max_persons_per_frame = max_persons_per_frame
        self.min_box_size = min_box_size
        # Each library builds under its own registry scope; the context
        # restores the caller's scope (mmaction's, in a training process).
        with DefaultScope.overwrite_default_scope('mmdet'):
            self.detector = init_detector(
                resolve_config(det_config), det_checkpoint, device=device)
            pipeline = get_test_pipeline_cfg(self.detector.cfg.copy())
            # Frames come as arrays, without annotations (as mmdet's
            # DetInferencer does it).
            pipeline[0].type = 'mmdet.LoadImageFromNDArray'
            pipeline = [t for t in pipeline if 'LoadAnnotations' not in t.type]
            self.det_pipeline = Compose(pipeline)
        with DefaultScope.overwrite_default_scope('mmpose'):
            self.pose_model = init_model(
                resolve_config(pose_config), pose_checkpoint, device=device)
            self.pose_pipeline = Compose(
                self.pose_model.cfg.test_dataloader.dataset.pipeline)

    @property
    def num_joints(self) -> int:
        """``V``, the pose model's joint count."""
        return int(self.pose_model.dataset_meta['num_keypoints'])

    @torch.no_grad()
    def detect(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Person boxes ``(K, 4)`` float32 ``x1, y1, x2, y2`` per frame,
        most confident first (at most ``max_persons_per_frame``)."""
        batch = pseudo_collate([
            self.det_pipeline(dict(img=frame, img_id=i))
            for i, frame in enumerate(frames)
        ])
        boxes = []
        for result in self.detector.test_step(batch):
            pred = result.pred_instances
            bboxes = pred.bboxes.cpu().numpy().astype(np.float32)
            scores = pred.scores.cpu().numpy()
            size = bboxes[:, 2:] - bboxes[:, :2]
            keep = ((pred.labels.cpu().numpy() == self.det_cat_id)
                    & (scores >= self.det_score_thr)
                    & (size >= self.min_box_size).all(axis=1))
            order = np.argsort(-scores[keep], kind='stable')
            boxes.append(bboxes[keep][order[:self.max_persons_per_frame]])
        return boxes

    @torch.no_grad()
    def estimate_poses(self, frames: Sequence[np.ndarray],
                       boxes: Sequence[np.ndarray]) -> List[FramePoses]:
        """Top-down poses in the ``boxes`` of each frame, all boxes of all
        frames in one batch."""
        data = []
        for frame, frame_boxes in zip(frames, boxes):
            for box in frame_boxes:
                info = dict(
                    img=frame,
                    bbox=box[None],
                    bbox_score=np.ones(1, np.float32),
                    **self.pose_model.dataset_meta)
                data.append(self.pose_pipeline(info))
        results = self.pose_model.test_step(
            pseudo_collate(data)) if data else []
        poses, start = [], 0
        for frame_boxes in boxes:
            found = results[start:start + len(frame_boxes)]
            start += len(frame_boxes)
            poses.append(self._frame_poses(frame_boxes, found))
        return poses

    def _frame_poses(self, boxes: np.ndarray, results: list) -> FramePoses:
        num_joints = self.num_joints
        keypoints = np.zeros((len(boxes), num_joints, 2), np.float32)
        scores = np.zeros((len(boxes), num_joints), np.float32)
        for k, result in enumerate(results):
            pred = result.pred_instances
            keypoints[k] = pred.keypoints[0]
            scores[k] = np.clip(pred.keypoint_scores[0], 0, 1)
        keypoints[scores == 0] = 0
        return FramePoses(
            bboxes=boxes.reshape(-1, 4),
            keypoints=keypoints,
            keypoint_scores=scores)

    def __call__(self, frames: Sequence[np.ndarray]) -> List[FramePoses]:
        """People and their poses in each of ``frames`` (BGR ``H x W x 3``
        uint8 arrays, as OpenCV decodes them)."""
        return self.estimate_poses(frames, self.detect(frames))
