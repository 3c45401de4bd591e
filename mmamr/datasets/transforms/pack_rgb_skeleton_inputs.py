# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, Sequence

from mmaction.datasets.transforms import PackActionInputs
from mmaction.registry import TRANSFORMS
from mmcv.transforms import to_tensor

# input -> (default results key, transform that must have produced it)
SOURCES = dict(
    rgb=('imgs', "FormatShape(input_format='NCTHW')"),
    skeleton=('skeleton', 'FormatSkeletonInput'))


@TRANSFORMS.register_module()
class PackRGBSkeletonInputs(PackActionInputs):
    """Pack RGB and skeleton into the input dict of RGBSkeletonRecognizer.

    ``inputs`` holds exactly the modalities present:

    - ``'rgb'``: ``[num_views, 3, T_R, H, W]`` (``num_views = num_clips``
      times crops), RGB order, ``uint8`` 0..255 as decoded; the model's
      data preprocessor scales it to [0, 1].
    - ``'skeleton'``: float32 ``[num_clips, M, T_S, V, C]`` in the units
      of :class:`NormalizeSkeleton`.

    The ``data_samples`` entry is an ``ActionDataSample`` with ``gt_label``
    and the ``meta_keys``, built by mmaction2's :class:`PackActionInputs`.

    Args:
        meta_keys (Sequence[str]): Keys copied into the sample's metainfo.
            Defaults to ``('frame_dir', 'img_shape')``.
        algorithm_keys (Sequence[str]): Custom fields of the data sample.
            Defaults to ``()``.
        rgb_key (str): The results key packed as ``'rgb'``. Defaults to
            ``'imgs'``.
        skeleton_key (str): The results key packed as ``'skeleton'``,
            e.g. ``'heatmap_imgs'`` for mmaction2's pose heatmap volumes
            (``GeneratePoseTarget``). Defaults to ``'skeleton'``.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('frame_dir', 'img_shape'),
                 algorithm_keys: Sequence[str] = (),
                 rgb_key: str = 'imgs',
                 skeleton_key: str = 'skeleton') -> None:
        super().__init__(
            collect_keys=(),
            meta_keys=meta_keys,
            algorithm_keys=algorithm_keys)
        self.keys = dict(rgb=rgb_key, skeleton=skeleton_key)

    def transform(self, results: Dict) -> Dict:
        """Return ``dict(inputs=dict(rgb=..., skeleton=...),
        data_samples=ActionDataSample)``."""
        inputs = dict()
        for name, (_, producer) in SOURCES.items():
            key = self.keys[name]
            if key not in results:
                continue
            value = results[key]
            if getattr(value, 'ndim', None) != 5:
                raise ValueError(
                    f'{key!r} must be 5-D for {name!r}; run {producer} '
                    'before packing.')
            inputs[name] = to_tensor(value)
        if not inputs:
            raise KeyError(
                f'Found neither {self.keys["rgb"]!r} nor '
                f'{self.keys["skeleton"]!r} to pack; the pipeline needs '
                'FormatShape and/or FormatSkeletonInput.')
        packed = super().transform(results)
        packed['inputs'] = inputs
        return packed
