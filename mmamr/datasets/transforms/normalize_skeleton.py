# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, Optional, Sequence, Union

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

Bound = Union[float, Sequence[float]]


@TRANSFORMS.register_module()
class NormalizeSkeleton(BaseTransform):
    """Map skeleton coordinates to fixed units of about [0, 1] per axis.

    Adversarial budgets on the skeleton (e.g. ``eps_S = 8/255``) are
    fractions of this range, as ``eps_R`` is of the [0, 1] RGB intensity
    range (DESIGN D5). The map is fixed, never per sample, so that a given
    budget means the same distance in every sample:

    1. optionally centre on a joint: subtract its position in the first
       frame where the first body has it (NTU: index 1, "middle of the
       spine", 0-based, as mmaction2's ``PreNormalize3D`` and CTR-GCN do);
    2. per axis ``u = (x - low) / (high - low)``.

    Defaults are for NTU RGB+D 3-D coordinates in metres, after centring:
    ``low = -1.5``, ``high = 1.5`` on every axis, i.e. a 3 m cube around
    the first-frame spine, so one unit is 3 m and ``8/255`` is 9.4 cm. A
    centred body spans about -1 m (feet) to +0.6 m (head) vertically and
    moves well under 1.5 m in depth or sideways; a second person farther
    than 1.5 m from the first falls slightly outside [0, 1], which is kept
    (not clipped).

    For 2-D pixel keypoints set ``use_img_shape=True`` (and
    ``center_joint=None``): x is divided by the width and y by the height
    of ``skeleton_img_shape`` (the annotation's ``img_shape``, saved by
    :class:`RGBSkeletonDecode`), so the image maps to [0, 1]^2.

    Joints that are exactly zero on every axis are padding (missing bodies
    or frames) and stay exactly zero, so models can still tell them apart.

    Run it before any RGB spatial transform: :class:`FormatSkeletonInput`
    enforces that.

    Required keys: ``keypoint`` ``(M, T, V, C)``; ``skeleton_img_shape`` or
    ``img_shape`` when ``use_img_shape``.
    Modified keys: ``keypoint`` (float32, same shape).

    Args:
        center_joint (int, optional): 0-based joint to centre on; ``None``
            for no centring. Defaults to 1 (NTU spine middle).
        low (float | Sequence[float]): Lower bound, a scalar or one value
            per axis. Defaults to -1.5.
        high (float | Sequence[float]): Upper bound, likewise. Defaults to
            1.5.
        use_img_shape (bool): Use ``low = 0`` and ``high = (W, H)`` of the
            skeleton's image instead of ``low``/``high``; needs ``C == 2``
            and no centring. Defaults to False.
    """

    def __init__(self,
                 center_joint: Optional[int] = 1,
                 low: Bound = -1.5,
                 high: Bound = 1.5,
                 use_img_shape: bool = False) -> None:
        if use_img_shape and center_joint is not None:
            raise ValueError('use_img_shape=True maps raw pixels to [0, 1]; '
                             'set center_joint=None.')
        low_arr = np.asarray(low, dtype=np.float32)
        high_arr = np.asarray(high, dtype=np.float32)
        if not use_img_shape and np.any(high_arr <= low_arr):
            raise ValueError(f'Need high > low, got low={low}, high={high}')
        self.center_joint = center_joint
        self.low, self.high = low, high
        self.use_img_shape = use_img_shape

    def _bounds(self, results: Dict, num_axes: int):
        if not self.use_img_shape:
            return (np.asarray(self.low,
                               np.float32), np.asarray(self.high, np.float32))
        if num_axes != 2:
            raise ValueError('use_img_shape needs 2-D keypoints (x, y), got '
                             f'{num_axes} coordinates per joint.')
        shape = results.get('skeleton_img_shape')
        height, width = results['img_shape'] if shape is None else shape
        return (np.zeros(2, np.float32), np.array([width, height], np.float32))

    def transform(self, results: Dict) -> Dict:
        """Normalise ``results['keypoint']``; see the class docstring."""
        keypoint = np.array(results['keypoint'], dtype=np.float32)
        # Padding is exactly zero on every axis; real joints never are.
        valid = np.any(keypoint != 0, axis=-1, keepdims=True)
        if self.center_joint is not None:
            first_body = keypoint[0, :, self.center_joint]  # [T, C]
            present = np.flatnonzero(valid[0, :, self.center_joint, 0])
            if present.size:
                keypoint = keypoint - first_body[present[0]]
        low, high = self._bounds(results, keypoint.shape[-1])
        keypoint = (keypoint - low) / (high - low)
        results['keypoint'] = np.where(valid, keypoint, 0).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(center_joint={self.center_joint}, '
                f'low={self.low}, high={self.high}, '
                f'use_img_shape={self.use_img_shape})')
