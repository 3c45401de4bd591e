# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict

import numpy as np
from mmaction.datasets.transforms import FormatGCNInput
from mmaction.registry import TRANSFORMS

# Keys set by mmaction2's Resize, crops and Flip. These transforms also
# rescale, shift or mirror ``keypoint`` as pixels, which corrupts 3-D
# coordinates and the fixed units of NormalizeSkeleton.
RGB_SPATIAL_KEYS = ('scale_factor', 'crop_bbox', 'flip')


@TRANSFORMS.register_module()
class FormatSkeletonInput(FormatGCNInput):
    """Pad or truncate bodies, split clips, and set the skeleton aside.

    mmaction2's :class:`FormatGCNInput` (zero-pad or truncate to
    ``num_person`` bodies, reshape to clips) without appending
    ``keypoint_score`` as an extra coordinate (unless ``with_score``). The
    result moves from ``keypoint`` to ``skeleton``, out of reach of the RGB
    spatial transforms that follow; an RGB spatial transform that already
    ran before it is an error.

    Required keys: ``keypoint`` ``(M, num_clips * T_S, V, C)``,
    ``keypoint_score`` (optional), ``num_clips`` (optional).
    Added keys: ``skeleton`` float32 ``[num_clips, num_person, T_S, V, C]``
    (``C + 1`` with ``with_score``). Removed keys: ``keypoint``,
    ``keypoint_score``.

    Args:
        num_person (int): Bodies kept; missing ones are zeros (``'zero'``)
            or copies of the first (``'loop'``). Defaults to 2.
        mode (str): ``'zero'`` or ``'loop'``. Defaults to ``'zero'``.
        with_score (bool): Append the score as a last coordinate.
            Defaults to False.
    """

    def __init__(self,
                 num_person: int = 2,
                 mode: str = 'zero',
                 with_score: bool = False) -> None:
        super().__init__(num_person=num_person, mode=mode)
        self.with_score = with_score

    def transform(self, results: Dict) -> Dict:
        """Format ``keypoint`` into ``skeleton``; see the class docstring."""
        ran = [key for key in RGB_SPATIAL_KEYS if key in results]
        if ran:
            raise RuntimeError(
                f'RGB spatial transforms ran before {type(self).__name__} '
                f'(found {ran}); they treat keypoint as pixels. Put the '
                'skeleton steps (decode, NormalizeSkeleton, '
                f'{type(self).__name__}) before Resize/crops/Flip.')
        score = results.pop('keypoint_score', None)
        if self.with_score and score is not None:
            results['keypoint_score'] = score
        results = super().transform(results)
        results.pop('keypoint_score', None)
        results['skeleton'] = results.pop('keypoint').astype(np.float32)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_person={self.num_person}, '
                f'mode={self.mode}, with_score={self.with_score})')
