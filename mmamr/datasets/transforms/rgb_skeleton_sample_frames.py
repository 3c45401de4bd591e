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
    equal segments per modality and takes one frame per segment, so both
    modalities span the same window whatever ``T_R`` and ``T_S`` are.
    Training jitters the frame inside each segment; test mode is
    deterministic (fixed seed). ``total_frames`` is the skeleton's frame
    count; a longer video's trailing frames are never sampled.

    The parent's rules for short samples are replaced, because they break
    the shared window: below ``clip_len`` frames it loops from a random
    start (a different cyclic shift per modality in training), and below
    ``2 * clip_len`` it drops random frames (the clip may end well before
    the sample does). Here any sample of at least ``clip_len`` frames uses
    the segments above, and a shorter one is stretched (frames repeated in
    order, ``i * total_frames // clip_len``). Test mode draws its offsets
    from a private seeded generator instead of reseeding numpy's global
    one.

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

    @staticmethod
    def _uniform(num_frames: int, clip_len: int,
                 rng: np.random.RandomState) -> np.ndarray:
        """One frame per segment, at a random offset inside it."""
        if num_frames < clip_len:
            return np.arange(clip_len) * num_frames // clip_len
        bounds = np.arange(clip_len + 1) * num_frames // clip_len
        return bounds[:-1] + rng.randint(np.diff(bounds))

    def _get_train_clips(self, num_frames: int, clip_len: int) -> np.ndarray:
        return np.concatenate([
            self._uniform(num_frames, clip_len, np.random)
            for _ in range(self.num_clips)
        ])

    def _get_test_clips(self, num_frames: int, clip_len: int) -> np.ndarray:
        # A private generator: deterministic without reseeding numpy's
        # global one (which the parent class does).
        rng = np.random.RandomState(self.seed)
        return np.concatenate([
            self._uniform(num_frames, clip_len, rng)
            for _ in range(self.num_clips)
        ])

    def transform(self, results: Dict) -> Dict:
        """Add ``RGB_inds`` / ``Pose_inds``; see the class docstring."""
        # The dataset's modality is a string ('both', 'rgb', 'skeleton');
        # the parent replaces a non-list value by the sampled keys.
        results['modality'] = None
        return super().transform(results)
