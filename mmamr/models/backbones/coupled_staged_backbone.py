# Copyright (c) mmamr contributors. All rights reserved.
"""The stage interface of a backbone whose modalities exchange features.

Some two-stream models are not two independent branches: their pathways
exchange lateral connections between stages (mmaction2's RGBPoseConv3D),
so a pathway's features depend on both inputs. Such a backbone consumes
every modality at once and exposes its stages on dicts of maps, one per
modality; the recognizer then runs it in place of the per-modality
branches and knows that the branches interact (the attacks' branch-cached
fast path is off). Modules between stages (AMR) see the same per-modality
maps as with independent branches.
"""
from abc import abstractmethod
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule

from .staged_backbone import StageShape, check_pooled, probing

Maps = Dict[str, torch.Tensor]


class CoupledStagedBackbone(BaseModule):
    """A backbone over several modalities, split into ordered stages.

    ``forward(x) == forward_head(stage_{S-1}(...stage_0(forward_stem(x))))``
    where every step maps a dict ``modality -> tensor`` to another, and a
    stage may mix the modalities (lateral connections). The stages are
    aligned over the modalities: after stage ``i`` every modality has a
    map, and a module between stages may replace those maps.

    Subclasses set ``modalities`` (tuple[str], in fusion order),
    ``num_stages`` (int) and ``feat_dims`` (dict, the width of
    :meth:`forward_head`'s output per modality) and implement the four
    methods.
    """

    modalities: Tuple[str, ...]
    num_stages: int
    feat_dims: Dict[str, int]
    # Read by the recognizer: a modality's features depend on the others.
    couples_modalities = True

    @property
    def name(self) -> str:
        """The class name, for error messages."""
        return type(self).__name__

    @abstractmethod
    def forward_stem(self, inputs: Maps) -> Maps:
        """Map the (normalised) inputs to the inputs of stage 0."""

    @abstractmethod
    def forward_stage(self, index: int, maps: Maps) -> Maps:
        """Run stage ``index`` (0 is the shallowest) on every modality."""

    @abstractmethod
    def forward_head(self, maps: Maps) -> Maps:
        """Pool the last stage's maps to features ``[N, D_m]`` each."""

    @abstractmethod
    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pool any stage's map of any modality to ``[N, C]``."""

    def stage_pools(self) -> Dict[str, Callable]:
        """Per modality, the pooling of its stage maps (for AMR)."""
        return {m: self.pool_stage for m in self.modalities}

    def check_stage_count(self, requested: int, owner: str = '') -> None:
        """Raise a clear error when more stages are asked for than exist."""
        if requested > self.num_stages:
            raise ValueError(
                f'{owner or "A module"} asks for {requested} stages of '
                f'{self.name}, which has only {self.num_stages}.')

    def stage_shapes(
            self,
            clip_shapes: Mapping[str, Sequence[int]],
            where: Optional[str] = None) -> Dict[str, List[StageShape]]:
        """Shape of every stage's output for one clip of each modality.

        As :meth:`StagedBackbone.stage_shapes`: zeros, no grad, eval mode,
        every submodule's mode restored.

        Args:
            clip_shapes (dict): Modality -> one clip without the batch
                axis; every modality of :attr:`modalities`.
            where (str, optional): Start of the error message when the
                clips do not fit.

        Returns:
            dict: Modality -> per stage (shallowest first) the map shape
            without the batch axis and the width of :meth:`pool_stage`.
        """
        clips = {m: tuple(clip_shapes[m]) for m in self.modalities}
        where = where or f'Clips of shapes {clips} do not fit {self.name}'
        shapes = {m: [] for m in self.modalities}
        with probing(self):
            try:
                maps = self.forward_stem({
                    m: torch.zeros(1, *c)
                    for m, c in clips.items()
                })
                for index in range(self.num_stages):
                    maps = self.forward_stage(index, maps)
                    for m in self.modalities:
                        pooled = self.pool_stage(maps[m])
                        check_pooled(pooled)
                        shapes[m].append(
                            (tuple(maps[m].shape[1:]), pooled.shape[1]))
            except (RuntimeError, ValueError) as error:
                raise ValueError(f'{where}: {error}') from error
        return shapes

    def forward(self, inputs: Maps) -> Maps:
        """Run the whole backbone: ``dict(m -> [N, ...]) -> dict(m -> [N,
        D_m])``."""
        maps = self.forward_stem(inputs)
        for i in range(self.num_stages):
            maps = self.forward_stage(i, maps)
        return self.forward_head(maps)
