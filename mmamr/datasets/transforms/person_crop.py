# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, Optional, Tuple

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from .format_skeleton_input import RGB_SPATIAL_KEYS

Box = Tuple[int, int, int, int]  # x1, y1, x2, y2: pixels [x1, x2) x [y1, y2)


@TRANSFORMS.register_module()
class PersonCrop(BaseTransform):
    """Crop the RGB frames to the box of the 2-D skeleton's bodies.

    The RGB counterpart of mmaction2's :class:`PoseCompact` /
    :class:`MMCompact` (the person crop of RGB+pose models), with three
    differences:

    - the box comes from ``keypoint_key`` (default ``'keypoint_2d'``, the
      colour-frame pixels of NTU; ``'keypoint'`` for 2-D datasets such as
      iMiGUE), never from the 3-D ``keypoint`` those transforms read;
    - no keypoint array is changed: only ``imgs`` and ``img_shape`` are.
      The skeleton input keeps its own units, and ``keypoint_2d`` its
      pixel frame (that of the decoded video);
    - one box for the whole clip: the tight box of every joint that is not
      exactly ``(0, 0)`` (padding, lost bodies), over every body and every
      frame held by ``keypoint_key``. :class:`RGBSkeletonDecode` leaves
      ``keypoint_2d`` whole, so that is every frame of the sample, not
      only the sampled ones; it slices ``keypoint`` to the sampled skeleton
      frames (``Pose_inds``, the same window) when the pipeline samples
      ``Pose``.

    The tight box is grown by ``padding`` (each side times
    ``1 + padding``, about its centre), then its shorter side grows to give
    height / width ``hw_ratio``, keeping the centre. Parts of the box
    outside the frame are zeros, as with ``allow_imgpad=True``. Keypoints
    are in the annotation's pixel frame, ``skeleton_img_shape`` (saved by
    :class:`RGBSkeletonDecode`; else ``img_shape``), and are scaled to the
    decoded frames when those differ in size. Without any valid joint (the
    body lost throughout), or when they all sit on one pixel, the frames
    are left whole.

    Put it after :class:`RGBSkeletonDecode` and before any RGB spatial
    transform (Resize, crops, Flip), which it refuses to follow: the box is
    in the decoded frame. It sets none of their keys, so it may come
    before or after :class:`FormatSkeletonInput`; with
    ``keypoint_key='keypoint'`` it must come before
    :class:`NormalizeSkeleton`, which rescales ``keypoint``.

    Required keys: ``imgs`` (list of ``H x W x 3`` arrays), ``keypoint_key``
    ``(M, T, V, C)`` with ``C >= 2``, x and y first;
    ``skeleton_img_shape`` or ``img_shape`` (optional).
    Modified keys: ``imgs`` (list of ``h x w x 3``, the input's dtype),
    ``img_shape`` ``(h, w)``.

    Args:
        padding (float): Extra fraction of each side of the tight box,
            at least 0. Defaults to 0.25.
        hw_ratio (float, optional): Height / width of the crop, e.g. 1.0
            for a square; ``None`` keeps the padded box's own shape.
            Defaults to 1.0.
        keypoint_key (str): The results key of the 2-D pixel keypoints.
            Defaults to ``'keypoint_2d'``.
    """

    def __init__(self,
                 padding: float = 0.25,
                 hw_ratio: Optional[float] = 1.0,
                 keypoint_key: str = 'keypoint_2d') -> None:
        if padding < 0:
            raise ValueError(f'padding must be >= 0, got {padding}')
        if hw_ratio is not None and hw_ratio <= 0:
            raise ValueError(f'hw_ratio must be > 0 or None, got {hw_ratio}')
        self.padding = padding
        self.hw_ratio = hw_ratio
        self.keypoint_key = keypoint_key

    def transform(self, results: Dict) -> Dict:
        """Crop ``results['imgs']``; see the class docstring."""
        ran = [key for key in RGB_SPATIAL_KEYS if key in results]
        if ran:
            raise RuntimeError(
                f'RGB spatial transforms ran before {type(self).__name__} '
                f'(found {ran}); its box is in the decoded frame. Put it '
                'right after RGBSkeletonDecode.')
        box = self.get_box(results)
        if box is not None:
            results['imgs'] = [
                crop_with_zeros(img, box) for img in results['imgs']
            ]
            results['img_shape'] = results['imgs'][0].shape[:2]
        return results

    def get_box(self, results: Dict) -> Optional[Box]:
        """The crop box in the decoded frames' pixels.

        Args:
            results (dict): Holds ``imgs`` and ``keypoint_key``.

        Returns:
            tuple[int, int, int, int] | None: ``(x1, y1, x2, y2)``, the
            crop being ``[y1:y2, x1:x2]`` (it may reach outside the
            frame), or ``None`` to keep the whole frame.
        """
        if self.keypoint_key not in results:
            raise KeyError(
                f'{type(self).__name__}: sample '
                f'{results.get("frame_dir")!r} has no {self.keypoint_key!r}. '
                'keypoint_2d comes from the NTU converter (not with '
                "--no-keypoint-2d); for 2-D datasets use keypoint_key='"
                "keypoint' before NormalizeSkeleton.")
        height, width = results['imgs'][0].shape[:2]
        ann_shape = results.get('skeleton_img_shape')
        if ann_shape is None:
            ann_shape = results.get('img_shape', (height, width))
        # Annotation pixels -> decoded-frame pixels, (x, y).
        scale = np.array([width / ann_shape[1], height / ann_shape[0]])
        tight = tight_box(np.asarray(results[self.keypoint_key])[..., :2])
        if tight is None:
            return None
        low, high = tight[0] * scale, tight[1] * scale
        if np.all(high - low < 1):  # one pixel: nothing to crop to
            return None
        return self._expand((low + high) / 2, high - low)

    def _expand(self, center: np.ndarray, size: np.ndarray) -> Box:
        """Pad the tight box of ``size`` ``(w, h)`` about ``center`` and
        give it the aspect ratio; rounded to whole pixels."""
        box_w, box_h = size * (1 + self.padding)
        if self.hw_ratio is not None:
            box_h = max(box_h, self.hw_ratio * box_w)
            box_w = max(box_w, box_h / self.hw_ratio)
        box_w, box_h = max(1, _round(box_w)), max(1, _round(box_h))
        x1, y1 = _round(center[0] - box_w / 2), _round(center[1] - box_h / 2)
        return x1, y1, x1 + box_w, y1 + box_h

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(padding={self.padding}, '
                f'hw_ratio={self.hw_ratio}, '
                f'keypoint_key={self.keypoint_key!r})')


def _round(value: float) -> int:
    """Nearest integer, halves up (Python's ``round`` goes to even)."""
    return int(np.floor(value + 0.5))


def tight_box(xy: np.ndarray) -> Optional[np.ndarray]:
    """Min and max of the valid joints.

    Args:
        xy (np.ndarray): Pixel coordinates ``(..., 2)``, x then y; joints at
            exactly ``(0, 0)`` or not finite are invalid.

    Returns:
        np.ndarray | None: ``[[min_x, min_y], [max_x, max_y]]``, or ``None``
        without any valid joint.
    """
    xy = xy.reshape(-1, 2).astype(np.float64)
    valid = np.all(np.isfinite(xy), axis=1) & np.any(xy != 0, axis=1)
    if not valid.any():
        return None
    xy = xy[valid]
    return np.stack([xy.min(axis=0), xy.max(axis=0)])


def crop_with_zeros(img: np.ndarray, box: Box) -> np.ndarray:
    """``img[y1:y2, x1:x2]`` with zeros where the box leaves the image.

    Args:
        img (np.ndarray): ``H x W x C`` (or ``H x W``).
        box (tuple[int, int, int, int]): ``(x1, y1, x2, y2)``.

    Returns:
        np.ndarray: ``(y2 - y1) x (x2 - x1) x C``, a view of ``img`` when
        the box lies inside it.
    """
    x1, y1, x2, y2 = box
    height, width = img.shape[:2]
    if x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height:
        return img[y1:y2, x1:x2]
    out = np.zeros((y2 - y1, x2 - x1) + img.shape[2:], img.dtype)
    # The part of the box inside the image, in image and output pixels.
    ix1, iy1 = max(x1, 0), max(y1, 0)
    ix2, iy2 = min(x2, width), min(y2, height)
    if ix1 < ix2 and iy1 < iy2:
        out[iy1 - y1:iy2 - y1, ix1 - x1:ix2 - x1] = img[iy1:iy2, ix1:ix2]
    return out
