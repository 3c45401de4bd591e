# Copyright (c) mmamr contributors. All rights reserved.
import os.path as osp
from typing import Callable, Dict, List, Optional, Union

import mmengine
from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS
from mmaction.utils import ConfigType

from mmamr.common import TARGETS

# Which modalities a dataset loads: named as the attack targets.
MODALITIES = tuple(sorted(TARGETS))
SKELETON_KEYS = ('keypoint', 'keypoint_score', 'keypoint_2d')
# Kept for modality 'rgb': 2-D pixels that no mmaction2 transform reads,
# the box of PersonCrop.
RGB_KEPT_KEYS = ('keypoint_2d', )


@DATASETS.register_module()
class RGBSkeletonDataset(BaseActionDataset):
    """Paired RGB videos and skeleton sequences for action recognition.

    The annotation file is mmaction2's skeleton pickle (as read by
    :class:`PoseDataset`) with one extra field per sample, ``video``::

        dict(split=dict(xsub_train=[frame_dir, ...], xsub_val=[...], ...),
             annotations=[dict(
                 frame_dir=str, label=int, total_frames=int,  # T
                 keypoint=float32 (M, T, V, C),   # NTU: V=25, C=3, metres
                 keypoint_score=float32 (M, T, V),  # optional
                 img_shape=(H, W), original_shape=(H, W),
                 video='<frame_dir>_rgb.avi'),  # relative to the videos
                 ...])

    ``total_frames`` is the skeleton's length; each video must have at
    least that many frames (extra trailing frames are ignored). Existence
    of every video is checked when the dataset loads.

    A complete pipeline (NTU, ``T_R = T_S = 32``, 224 x 224 RGB)::

        train_pipeline = [
            dict(type='RGBSkeletonSampleFrames',
                 clip_len=dict(RGB=32, Pose=32)),
            dict(type='RGBSkeletonDecode'),
            # skeleton steps first: Resize/crops/Flip treat keypoints as
            # pixels, FormatSkeletonInput moves them out of their reach
            dict(type='NormalizeSkeleton', center_joint=1,
                 low=-1.5, high=1.5),
            dict(type='FormatSkeletonInput', num_person=2),
            dict(type='Resize', scale=(-1, 256)),
            dict(type='RandomResizedCrop'),
            dict(type='Resize', scale=(224, 224), keep_ratio=False),
            dict(type='Flip', flip_ratio=0.5),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackRGBSkeletonInputs'),
        ]
        test_pipeline = [
            dict(type='RGBSkeletonSampleFrames',
                 clip_len=dict(RGB=32, Pose=32), test_mode=True),
            dict(type='RGBSkeletonDecode'),
            dict(type='NormalizeSkeleton', center_joint=1,
                 low=-1.5, high=1.5),
            dict(type='FormatSkeletonInput', num_person=2),
            dict(type='Resize', scale=(-1, 256)),
            dict(type='CenterCrop', crop_size=224),
            dict(type='FormatShape', input_format='NCTHW'),
            dict(type='PackRGBSkeletonInputs'),
        ]
        dataset = dict(
            type='RGBSkeletonDataset', ann_file='data/ntu/ntu60_3d.pkl',
            split='xsub_train', data_prefix=dict(video='data/ntu/videos'),
            pipeline=train_pipeline)

    Each item is ``dict(inputs=dict(rgb=uint8 [1, 3, 32, 224, 224],
    skeleton=float32 [1, 2, 32, 25, 3]), data_samples=ActionDataSample)``.
    For ``modality='skeleton'`` keep only ``Pose`` in ``clip_len`` and drop
    the RGB steps (Resize ... FormatShape); for ``'rgb'`` keep only ``RGB``
    and drop NormalizeSkeleton and FormatSkeletonInput.

    Args:
        ann_file (str): Path to the annotation pickle.
        pipeline (list[dict | callable]): Data transforms.
        split (str, optional): Key of ``split`` to use, e.g.
            ``'xsub_train'``; ``None`` uses every annotation.
            Defaults to None.
        data_prefix (dict, optional): ``dict(video=folder)``, the folder
            the ``video`` fields are relative to. Defaults to
            ``dict(video='')``.
        modality (str): ``'both'``, ``'rgb'`` or ``'skeleton'``. Videos are
            neither needed nor checked for ``'skeleton'``; for ``'rgb'`` the
            skeleton arrays are dropped but ``keypoint_2d`` (the box of
            :class:`PersonCrop`). Defaults to ``'both'``.
        **kwargs: Passed to :class:`BaseActionDataset` (``test_mode``,
            ``data_root``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[ConfigType, Callable]],
                 split: Optional[str] = None,
                 data_prefix: Optional[ConfigType] = None,
                 modality: str = 'both',
                 **kwargs) -> None:
        if modality not in MODALITIES:
            raise ValueError(
                f'modality must be one of {MODALITIES}, got {modality!r}')
        self.split = split
        super().__init__(
            ann_file,
            pipeline=pipeline,
            data_prefix=dict(video='') if data_prefix is None else data_prefix,
            modality=modality,
            **kwargs)

    @property
    def uses_rgb(self) -> bool:
        return 'rgb' in TARGETS[self.modality]

    @property
    def uses_skeleton(self) -> bool:
        return 'skeleton' in TARGETS[self.modality]

    def load_data_list(self) -> List[Dict]:
        """Load the annotations of ``split`` and resolve video paths."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Annotation file {self.ann_file} does not exist.')
        data = mmengine.load(self.ann_file)
        annotations = data['annotations']
        if self.split is not None:
            splits = data.get('split', {})
            if self.split not in splits:
                raise KeyError(
                    f'Split {self.split!r} is not in {self.ann_file}; '
                    f'available: {sorted(splits)}')
            wanted = set(splits[self.split])
            annotations = [x for x in annotations if x['frame_dir'] in wanted]
            if not annotations:
                raise ValueError(self._empty_split_message(len(wanted)))
        return [self._resolve(info) for info in annotations]

    def _empty_split_message(self, listed: int) -> str:
        """Why ``split`` gives no sample (mmengine would otherwise fail
        with numpy's "need at least one array to concatenate")."""
        where = f'Split {self.split!r} of {self.ann_file}'
        if listed:
            return (f'{where}: none of its {listed} samples is in the '
                    "file's annotations (split and annotations from "
                    'different conversions?)')
        return (f'{where} holds no sample: the data converted had none '
                'belonging to it (e.g. xsub_val holds only the X-Sub test '
                "subjects' samples, xview_val only camera 1's; the "
                'converter names the empty splits). Use another split or '
                'convert data that has some.')

    def _resolve(self, info: Dict) -> Dict:
        """Check one annotation against the modality and add ``filename``."""
        name = info.get('frame_dir')
        if self.uses_skeleton and 'keypoint' not in info:
            raise KeyError(f'Sample {name!r} in {self.ann_file} has no '
                           "'keypoint' but modality is "
                           f'{self.modality!r}.')
        if not self.uses_skeleton:
            # Raw 3-D keypoints would otherwise meet the RGB Resize/crops,
            # which treat them as pixels.
            for key in SKELETON_KEYS:
                if key not in RGB_KEPT_KEYS:
                    info.pop(key, None)
        if self.uses_rgb:
            if 'video' not in info:
                raise KeyError(
                    f'Sample {name!r} in {self.ann_file} has no '
                    f"'video' but modality {self.modality!r} needs RGB.")
            filename = osp.join(
                self.data_prefix.get('video', ''), info['video'])
            if not osp.isfile(filename):
                raise FileNotFoundError(
                    f'Video {filename} of sample {name!r} does not exist.')
            info['filename'] = filename
        return info
