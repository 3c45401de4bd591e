# Copyright (c) mmamr contributors. All rights reserved.
"""Data and small trained models on which attacks partly succeed.

Every coordinate of a sample is grey (0.5) plus its class' pattern at
``±SIGNAL`` plus uniform noise in ``±NOISE``, in both modalities. A model
trained on it is accurate but not far from its boundaries: at
``ε = SIGNAL`` (the budget that can just cancel the class pattern,
chosen from the data's construction) attacks break some samples and not
others, where their strengths differ.
"""
from typing import Dict, Tuple

import torch
from torch import nn

K = 10
SIGNAL, NOISE = 16 / 255, 48 / 255
# Two-stream inputs: RGB [N, 3, T, H, W], skeleton [N, M, T, J, C].
SHAPES = dict(rgb=(3, 4, 8, 8), skeleton=(2, 8, 25, 3))


def make_data(num: int,
              seed: int,
              shapes: Dict[str, tuple] = SHAPES,
              noise: float = NOISE) -> Tuple[dict, torch.Tensor]:
    """``num`` samples of the ``K`` classes; the class patterns depend on
    the shapes only (seed 0), the labels and noise on ``seed``."""
    gen = torch.Generator().manual_seed(0)
    patterns = {
        m: torch.randint(0, 2, (K, *s), generator=gen) * 2. - 1
        for m, s in shapes.items()
    }
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, K, (num, ), generator=gen)
    inputs = {
        m:
        0.5 + SIGNAL * patterns[m][labels] + noise *
        (2 * torch.rand(num, *s, generator=gen) - 1)
        for m, s in shapes.items()
    }
    return inputs, labels


class MLPStreams(nn.Module):
    """One ReLU layer per modality, late fusion by a linear layer; inputs
    normalised inside (mean 0.5, std 0.25), as the recognizer does."""

    def __init__(self, shapes: Dict[str, tuple] = SHAPES, hidden: int = 32):
        super().__init__()
        self.shapes = dict(shapes)
        self.branches = nn.ModuleDict({
            m:
            nn.Sequential(nn.Flatten(),
                          nn.Linear(int(torch.Size(s).numel()), hidden),
                          nn.ReLU())
            for m, s in shapes.items()
        })
        self.fc = nn.Linear(hidden * len(shapes), K)

    @property
    def modalities(self):
        return tuple(self.shapes)

    def forward(self, inputs):
        return self.fc(
            torch.cat([
                branch((inputs[m] - 0.5) / 0.25)
                for m, branch in self.branches.items()
            ], 1))


def trained(shapes: Dict[str, tuple] = SHAPES,
            num: int = 3000,
            epochs: int = 5,
            seed: int = 0) -> nn.Module:
    """An :class:`MLPStreams` after a few epochs of Adam (about 1 s),
    in eval mode."""
    torch.manual_seed(seed)
    model = MLPStreams(shapes)
    inputs, labels = make_data(num, seed + 1, shapes)
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(num).split(100):
            optim.zero_grad()
            nn.functional.cross_entropy(
                model({
                    m: x[idx]
                    for m, x in inputs.items()
                }), labels[idx]).backward()
            optim.step()
    return model.eval()


def accuracy(model, inputs, labels) -> float:
    with torch.no_grad():
        return (model(inputs).argmax(1) == labels).float().mean().item()


def correct(model, inputs, labels) -> torch.Tensor:
    """bool ``[N]``: the samples the model classifies correctly."""
    with torch.no_grad():
        return model(inputs).argmax(1) == labels


def sample_generators(num: int, seed: int = 0):
    """One generator per sample, as the robust test loop gives."""
    return [
        torch.Generator().manual_seed(seed * 100003 + i) for i in range(num)
    ]
