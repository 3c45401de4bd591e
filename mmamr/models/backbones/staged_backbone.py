# Copyright (c) mmamr contributors. All rights reserved.
"""The stage interface every branch backbone of the recognizer exposes.

The recognizer runs the RGB and the skeleton branch stage by stage so that
modules such as AMR can sit between stages (DESIGN.md D1). This interface
is the only coupling between those modules and a backbone: a new backbone
is plug-and-play once it implements the abstract members below. (A
backbone whose pathways exchange features between stages implements
:class:`CoupledStagedBackbone` instead.) :meth:`StagedBackbone.stage_shapes`
probes the stage shapes that size such modules.
"""
from abc import abstractmethod
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

# One stage's output for one clip: (map shape without the batch axis,
# width of the stage's pooled feature).
StageShape = Tuple[Tuple[int, ...], int]


@contextmanager
def probing(module: nn.Module) -> Iterator[None]:
    """Eval mode and no grad for a dummy forward; every submodule's own
    ``training`` flag is restored afterwards (exactly, even where they
    differed), so no BatchNorm statistics or dropout masks change."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, flag in flags:
            m.training = flag


def check_pooled(pooled: torch.Tensor) -> None:
    """``pool_stage`` must give ``[1, C]`` for one clip."""
    if pooled.dim() != 2 or pooled.shape[0] != 1:
        raise ValueError(
            f'pool_stage gave {tuple(pooled.shape)} for one clip; it must '
            'give [1, C] (merging any axis the backbone folds into the '
            'batch).')


class StagedBackbone(BaseModule):
    """A backbone split into a stem, ordered stages and a feature head.

    ``forward(x) == forward_head(stage_{S-1}(...stage_0(forward_stem(x))))``.

    Subclasses set ``num_stages`` (int) and ``feat_dim`` (int, the width of
    :meth:`forward_head`'s output) and implement the four methods.
    """

    num_stages: int
    feat_dim: int
    # Keep BatchNorm layers in eval mode (statistics frozen) in training;
    # backbones that offer it set it from their ``norm_eval`` argument.
    norm_eval: bool = False

    @abstractmethod
    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Map the (normalised) branch input to the input of stage 0."""

    @abstractmethod
    def forward_stage(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run stage ``index`` (0 is the shallowest) on ``x``."""

    @abstractmethod
    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        """Pool the last stage's output to per-sample features ``[N, D]``."""

    @abstractmethod
    def pool_stage(self, x: torch.Tensor) -> torch.Tensor:
        """Globally pool any stage output to per-sample features ``[N, C]``.

        Used by modules that predict from a hidden map (AMR's auxiliary
        head). Backbones that fold extra axes into the batch (HCN folds the
        persons) reduce them here, so the result has one row per sample.
        """

    def check_stage_count(self, requested: int, owner: str = '') -> None:
        """Raise a clear error when more stages are asked for than exist."""
        if requested > self.num_stages:
            raise ValueError(
                f'{owner or "A module"} asks for {requested} stages of '
                f'{type(self).__name__}, which has only {self.num_stages}.')

    def stage_shapes(self,
                     clip_shape: Sequence[int],
                     where: Optional[str] = None) -> List[StageShape]:
        """Shape of every stage's output for one clip.

        Runs the backbone once on zeros ``[1, *clip_shape]``, without grad
        and in eval mode, restoring every submodule's mode afterwards. The
        shapes do not depend on the values, so the probe needs no
        normalised input. Used to size modules between stages (AMR's
        weights, DESIGN.md D2) at construction.

        Args:
            clip_shape (sequence[int]): One clip without the batch axis,
                as :meth:`forward_stem` takes it after the batch axis.
            where (str, optional): Start of the error message when the
                clip does not fit, e.g. naming the config key it came
                from. Defaults to one naming the clip and this class.

        Returns:
            list[tuple]: Per stage (shallowest first), the map shape
            without the batch axis and the width of :meth:`pool_stage`.
        """
        clip = tuple(clip_shape)
        where = where or (f'A clip of shape {clip} does not fit '
                          f'{type(self).__name__}')
        shapes = []
        with probing(self):
            try:
                x = self.forward_stem(torch.zeros(1, *clip))
                for index in range(self.num_stages):
                    x = self.forward_stage(index, x)
                    pooled = self.pool_stage(x)
                    check_pooled(pooled)
                    shapes.append((tuple(x.shape[1:]), pooled.shape[1]))
            except (RuntimeError, ValueError) as error:
                raise ValueError(f'{where}: {error}') from error
        return shapes

    def train(self, mode: bool = True) -> 'StagedBackbone':
        """Set train mode, keeping BatchNorm in eval mode if ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the whole backbone: ``[N, ...] -> [N, feat_dim]``."""
        x = self.forward_stem(x)
        for i in range(self.num_stages):
            x = self.forward_stage(i, x)
        return self.forward_head(x)
