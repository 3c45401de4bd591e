# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict

import numpy as np
from mmaction.datasets.transforms import MMUniformSampleFrames
from mmaction.registry import TRANSFORMS

MODALITY_KEYS = ('RGB', 'Pose')


@TRANSFORMS.register_module()
class RGBSkeletonSampleFrames(MMUniformSampleFrames):
    """Sample RGB and skeleton frame indices over the same time window.

    mmaction2's :class:`MMUniformSampleFrames` (the sampler of RGBPoseConv3D)
    splits the whole sample, ``[0, total_frames)``, into ``clip_len``
    equal segments per modality and takes one frame per segment: the middle
    of the window is covered identically whatever ``T_R`` and ``T_S`` are.
    Training jitters the frame inside each segment; test mode is
    deterministic (fixed seed). ``total_frames`` is the skeleton's frame
    count; a longer video's trailing frames are never sampled.

    One change: a sample shorter than ``clip_len`` is stretched (frames
    repeated in order, ``i * total_frames // clip_len``) instead of looped
    from a random start, which in training would give each modality a
    different cyclic shift, i.e. different windows.

    Required keys: ``total_frames``, ``modality``.
    Added keys: ``RGB_inds`` (``[num_clips * T_R]``), ``Pose_inds``
    (``[num_clips * T_S]``), ``clip_len``, ``num_clips``,
    ``frame_interval``; ``modality`` becomes the list of sampled keys.

    Args:
        clip_len (dict[str, int]): Frames per clip for each sampled modality,
            keys among ``'RGB'`` and ``'Pose'``, e.g.
            ``dict(RGB=32, Pose=32)``; a unimodal pipeline gives one key.
        num_clips (int): Clips per sample. Defaults to 1.
        test_mode (bool): Deterministic sampling. Defaults to False.
        seed (int): Seed of the test-mode sampling. Defaults to 255.
    """

    def __init__(self,
                 clip_len: Dict[str, int],
                 num_clips: int = 1,
                 test_mode: bool = False,
                 seed: int = 255) -> None:
        if not isinstance(clip_len, dict) or not clip_len or not set(
                clip_len) <= set(MODALITY_KEYS):
            raise ValueError(
                f'clip_len must be a dict with keys among {MODALITY_KEYS}, '
                f'e.g. dict(RGB=32, Pose=32); got {clip_len!r}')
        super().__init__(
            clip_len=dict(clip_len),
            num_clips=num_clips,
            test_mode=test_mode,
            seed=seed)

    def _stretch(self, num_frames: int, clip_len: int) -> np.ndarray:
        inds = np.arange(clip_len) * num_frames // clip_len
        return np.tile(inds, self.num_clips)

    def _get_train_clips(self, num_frames: int, clip_len: int) -> np.ndarray:
        if num_frames < clip_len:
            return self._stretch(num_frames, clip_len)
        return super()._get_train_clips(num_frames, clip_len)

    def _get_test_clips(self, num_frames: int, clip_len: int) -> np.ndarray:
        if num_frames < clip_len:
            return self._stretch(num_frames, clip_len)
        return super()._get_test_clips(num_frames, clip_len)

    def transform(self, results: Dict) -> Dict:
        """Add ``RGB_inds`` / ``Pose_inds``; see the class docstring."""
        # The dataset's modality is a string ('both', 'rgb', 'skeleton');
        # the parent replaces a non-list value by the sampled keys.
        results['modality'] = None
        return super().transform(results)
