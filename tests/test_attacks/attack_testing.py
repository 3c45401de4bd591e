# Copyright (c) mmamr contributors. All rights reserved.
"""Small models and inputs shared by the attack tests.

The recognizer is the tiny I3D + HCN of the recognizer tests (InceptionI3D
width 0.125, HCN base 32, T=16, 32 × 32). Its head is initialised with a
larger std than the default 0.01 so that logits, and thus the losses the
attacks compare, are not all near log K.
"""

import torch
from mmaction.registry import MODELS
from torch import nn

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.utils import init_weights_quietly

N, T, SIZE, M, V, K = 4, 16, 32, 2, 25, 5


def build_recognizer(rgb=True, skeleton=True, seed=0):
    cfg = dict(
        type='RGBSkeletonRecognizer',
        rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125)
        if rgb else None,
        skeleton_backbone=dict(
            type='HCN', base_channels=32, clip_len=T, fc7_channels=16)
        if skeleton else None,
        cls_head=dict(
            type='FusionHead', num_classes=K, dropout_ratio=0.5,
            init_std=0.01))
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    init_weights_quietly(model)
    return model.eval()


def make_inputs(n=N, views=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    lead = (n, ) if views is None else (n, views)
    return dict(
        rgb=torch.rand(*lead, 3, T, SIZE, SIZE, generator=gen),
        skeleton=torch.rand(*lead, M, T, V, 3, generator=gen))


class LinearModel(nn.Module):
    """Logits = a linear map of both (small) modalities, a callable on
    dicts like the recognizer but cheap and easy to fit."""

    def __init__(self, shapes, num_classes=4):
        super().__init__()
        self.shapes = shapes
        self.fc = nn.ModuleDict({
            m: nn.Linear(int(torch.Size(s).numel()), num_classes)
            for m, s in shapes.items()
        })

    @property
    def modalities(self):
        return tuple(self.shapes)

    def forward(self, inputs):
        return sum(fc(inputs[m].flatten(1)) for m, fc in self.fc.items())
