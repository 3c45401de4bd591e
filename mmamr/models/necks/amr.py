# Copyright (c) mmamr contributors. All rights reserved.
"""AMR, the Attention-based Modality Reweighter (paper §3.3, Fig. 3)."""
from typing import Callable, Dict, Mapping, Optional, Sequence

import torch
from mmaction.registry import MODELS
from mmengine.model import BaseModule
from mmengine.model.weight_init import normal_init
from torch import nn

from mmamr.common import AUX_LOGITS

INITS = ('ones', 'uniform')


def global_average_pool(x: torch.Tensor) -> torch.Tensor:
    """Average every axis but the channels: ``[B, C, ...] -> [B, C]``."""
    return x.flatten(2).mean(dim=2)


@MODELS.register_module()
class AMR(BaseModule):
    """Attention-based Modality Reweighter (Eq. 8-10 of the AMR paper).

    Sits between two stages of an :class:`RGBSkeletonRecognizer` and takes
    both branches' hidden maps at that depth, e.g. ``X_R [B, C_R, T_R, H,
    W]`` and, for HCN, the per-person ``X_S [B * M, C_S, T_S, V']``. Each
    modality has a learnable weight ``W [1, *map_shape]``, shared over the
    batch (and over HCN's folded persons). Three outputs:

    - ``X_R ⊙ W_R`` and ``X_S ⊙ W_S``, which continue through the rest of
      their branches;
    - ``AUX_LOGITS``: the auxiliary prediction
      ``y* = FC(concat(GAP3d(X_R ⊙ W_R), GAP2d(X_S ⊙ W_S)))`` ``[B, K]``,
      computed only when every modality is present. The pooling is the
      backbones' ``pool_stage`` (given by the recognizer), which also
      merges HCN's persons so that the rows are samples.

    The reweighting of a modality depends on that modality alone
    (``couples_modalities = False``), so the module also accepts a dict
    holding one modality (then it returns no auxiliary prediction). This
    keeps the attacks' single-modality fast path exact for AMR models.

    ``W``'s shape is fixed here, at construction (DESIGN.md D2): inputs of
    another size are refused, not broadcast.

    Args:
        map_shapes (dict): Per modality, the map shape without the batch
            axis, e.g. ``dict(rgb=(1024, 4, 7, 7), skeleton=(256, 2, 2))``.
            The order of the keys is the concatenation order.
        num_classes (int): Classes of the auxiliary classifier ``K``.
        feat_dims (dict, optional): Width of each modality's pooled
            feature. Defaults to the channel count ``map_shapes[m][0]``.
        pools (dict, optional): Per modality, a callable pooling a map
            ``[B', C, ...]`` to ``[B, feat_dim]``. Defaults to the global
            average over every axis but the channels.
        init (str): Initial ``W``: ``'ones'`` (the default: the identity,
            so inserting AMRs leaves the network's function unchanged at
            the start of training, e.g. when fine-tuning an undefended
            checkpoint) or ``'uniform'`` (i.i.d. in [0, 1)). The paper
            does not say; its trained means (Table 3, 0.31-0.49, all
            below 0.5) would also fit a uniform start shrunk by weight
            decay.
        init_cfg (dict, optional): Unused; the init is ``init`` for ``W``
            and N(0, 0.01) for the classifier, like :class:`FusionHead`.

    Example:
        >>> amr = AMR(dict(rgb=(8, 2, 4, 4), skeleton=(16, 4, 2)), 5)
        >>> out = amr(dict(rgb=torch.rand(3, 8, 2, 4, 4),
        ...                skeleton=torch.rand(3, 16, 4, 2)))
        >>> out['aux_logits'].shape
        torch.Size([3, 5])
    """

    couples_modalities = False

    def __init__(self,
                 map_shapes: Mapping[str, Sequence[int]],
                 num_classes: int,
                 feat_dims: Optional[Mapping[str, int]] = None,
                 pools: Optional[Mapping[str, Callable]] = None,
                 init: str = 'ones',
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if init not in INITS:
            raise ValueError(f'AMR init={init!r}; choose one of {INITS}.')
        if not map_shapes:
            raise ValueError('AMR needs the map shape of at least one '
                             'modality.')
        self.init = init
        self.modalities = tuple(map_shapes)
        self.weights = nn.ParameterDict({
            m:
            nn.Parameter(torch.ones(1, *map(int, shape)))
            for m, shape in map_shapes.items()
        })
        feat_dims = dict(feat_dims or {})
        for m, shape in map_shapes.items():
            feat_dims.setdefault(m, int(shape[0]))
        self.feat_dims = {m: int(feat_dims[m]) for m in self.modalities}
        # Plain callables, not submodules: the backbones' pool_stage must
        # not register the backbones a second time under this module.
        pools = dict(pools or {})
        self.pools = {
            m: pools.get(m, global_average_pool)
            for m in self.modalities
        }
        self.fc = nn.Linear(sum(self.feat_dims.values()), num_classes)
        self.init_weights()

    def init_weights(self) -> None:
        """``W`` as ``init`` says; the classifier N(0, 0.01), bias 0."""
        with torch.no_grad():
            for weight in self.weights.values():
                if self.init == 'ones':
                    weight.fill_(1.)
                else:
                    weight.uniform_(0., 1.)
        normal_init(self.fc, std=0.01)

    def forward(self, maps: Dict[str,
                                 torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Reweight the maps; predict from them when all are present.

        Args:
            maps (dict): Modality -> map ``[B, *map_shape]`` (HCN: ``B =
                N * M``); any non-empty subset of the modalities.

        Returns:
            dict: The reweighted maps, same keys and shapes, plus
            ``AUX_LOGITS`` ``[N, K]`` when ``maps`` holds every modality.
        """
        unknown = sorted(set(maps) - set(self.modalities))
        if unknown or not maps:
            raise KeyError(f'AMR reweights {list(self.modalities)}; got '
                           f'maps {sorted(maps)}.')
        out = dict()
        for m, x in maps.items():
            weight = self.weights[m]
            if tuple(x.shape[1:]) != tuple(weight.shape[1:]):
                raise ValueError(
                    f'AMR was built for {m} maps [B, '
                    f'{", ".join(map(str, weight.shape[1:]))}], got '
                    f'{list(x.shape)}. Its weights are sized at '
                    'construction: set the recognizer\'s '
                    'amr.input_shapes to the clips the pipeline produces.')
            out[m] = x * weight
        if len(out) == len(self.modalities):
            out[AUX_LOGITS] = self.predict_aux(out)
        return out

    def predict_aux(self, maps: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``FC(concat(pool(X_m ⊙ W_m)))``: ``[N, K]`` (Eq. 9-10)."""
        pooled = [self.pools[m](maps[m]) for m in self.modalities]
        if len({p.shape[0] for p in pooled}) != 1:
            shapes = [tuple(p.shape) for p in pooled]
            raise ValueError(
                f'The pooled AMR features of {list(self.modalities)} '
                'disagree on the batch size: '
                f'{shapes}; a backbone\'s pool_stage must merge the axes it '
                'folds into the batch.')
        return self.fc(torch.cat(pooled, dim=1))

    def extra_repr(self) -> str:
        shapes = {m: tuple(w.shape[1:]) for m, w in self.weights.items()}
        return f'map_shapes={shapes}, init={self.init!r}'
