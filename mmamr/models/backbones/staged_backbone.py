# Copyright (c) mmamr contributors. All rights reserved.
"""The stage interface every branch backbone of the recognizer exposes.

The recognizer runs the RGB and the skeleton branch stage by stage so that
modules such as AMR can sit between stages (DESIGN.md D1). This interface
is the only coupling between those modules and a backbone: a new backbone
is plug-and-play once it implements the five members below.
"""
from abc import abstractmethod

import torch
from mmengine.model import BaseModule


class StagedBackbone(BaseModule):
    """A backbone split into a stem, ordered stages and a feature head.

    ``forward(x) == forward_head(stage_{S-1}(...stage_0(forward_stem(x))))``.

    Subclasses set ``num_stages`` (int) and ``feat_dim`` (int, the width of
    :meth:`forward_head`'s output) and implement the four methods.
    """

    num_stages: int
    feat_dim: int

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the whole backbone: ``[N, ...] -> [N, feat_dim]``."""
        x = self.forward_stem(x)
        for i in range(self.num_stages):
            x = self.forward_stage(i, x)
        return self.forward_head(x)
