# Copyright (c) mmamr contributors. All rights reserved.
"""A fitted tiny recognizer, in-memory clips and runners for the tests of
the robust test loop."""
import uuid

import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import mmamr  # noqa: F401  (registers the plugin, applies compat)

T, SIZE, M, V, K = 16, 32, 2, 25, 4
NUM = 8
SHAPES = dict(rgb=(3, T, SIZE, SIZE), skeleton=(M, T, V, 3))
EPS = dict(rgb=8 / 255, skeleton=8 / 255)
ALPHA = dict(rgb=2 / 255, skeleton=2 / 255)
ALL_TARGETS = ('rgb', 'skeleton', 'both')


def build_model(rgb=True, skeleton=True, seed=0):
    """A tiny I3D + HCN recognizer (either branch optional), eval mode."""
    torch.manual_seed(seed)
    model = MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125)
            if rgb else None,
            skeleton_backbone=dict(
                type='HCN', base_channels=32, clip_len=T, fc7_channels=16)
            if skeleton else None,
            cls_head=dict(type='FusionHead', num_classes=K, dropout_ratio=0.)))
    # PyTorch's default init: init_weights() would log every tensor.
    return model.eval()


class PatternClips(Dataset):
    """Packed samples as the pipeline makes them.

    Sample ``i`` has label ``i % K``: grey plus a class pattern of ±32
    grey levels (RGB, ``uint8 [1, 3, T, H, W]``) or ±32/255 (skeleton,
    ``[1, M, T, V, 3]``) and half as much noise, so that a small net fits
    it in a few steps and budgets of a few /255 flip some decisions.
    Each ``ActionDataSample`` has ``gt_label`` and ``frame_dir``. With
    ``views > 1`` a sample holds that many clips (rolled in time), as a
    multi-clip test pipeline makes.
    """

    def __init__(self,
                 num=NUM,
                 seed=0,
                 modalities=('rgb', 'skeleton'),
                 views=1):
        gen = torch.Generator().manual_seed(seed)
        labels = torch.arange(num) % K
        inputs = dict()
        for m, shape in SHAPES.items():
            pattern = torch.randint(0, 2, (K, *shape), generator=gen) * 2 - 1
            noise = torch.rand(num, *shape, generator=gen) * 2 - 1
            inputs[m] = 0.5 + 32 / 255 * pattern[labels] + 16 / 255 * noise
        inputs['rgb'] = (inputs['rgb'] * 255).round().to(torch.uint8)
        self.items = []
        for i in range(num):
            sample = ActionDataSample().set_gt_label(int(labels[i]))
            sample.set_metainfo(dict(frame_dir=f'clip{i:03d}'))
            clips = {
                m:
                torch.cat(
                    [inputs[m][i:i + 1].roll(v, dims=2) for v in range(views)])
                for m in modalities
            }
            self.items.append(dict(inputs=clips, data_samples=sample))
        self.metainfo = dict()

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


class PaddedClips(PatternClips):
    """PatternClips with skeleton padding as the converters write it
    (exact zeros): no second body in the even samples, and no body at all
    in the last 4 frames of sample 1."""

    def __init__(self, num=NUM, seed=0):
        super().__init__(num=num, seed=seed)
        for i, item in enumerate(self.items):
            skeleton = item['inputs']['skeleton'].clone()  # [1, M, T, V, C]
            if i % 2 == 0:
                skeleton[:, 1] = 0
            if i == 1:
                skeleton[:, :, -4:] = 0
            item['inputs']['skeleton'] = skeleton


def preprocess(model, items):
    """``(inputs, labels)`` of packed items, as the test loop sees them."""
    data = model.data_preprocessor(pseudo_collate(list(items)), False)
    labels = torch.cat([s.gt_label for s in data['data_samples']])
    return data['inputs'], labels


def fit(model, dataset, steps=40):
    """Adam on the whole set (BatchNorm frozen): the tiny net reaches
    100% on it in about 40 steps, a few seconds."""
    inputs, labels = preprocess(model, dataset.items)
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        optim.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optim.step()
    model.zero_grad(set_to_none=True)
    return model.eval()


def build_runner(model,
                 dataset,
                 work_dir,
                 attacks,
                 targets=ALL_TARGETS,
                 batch_size=2,
                 seed=0,
                 metric=None,
                 loop=None):
    """A Runner testing ``model`` on ``dataset`` with RobustTestLoop
    (``loop``: more test_cfg options)."""
    return Runner(
        model=model,
        work_dir=str(work_dir),
        test_dataloader=dict(
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=batch_size,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        test_cfg=dict(
            dict(
                type='RobustTestLoop',
                attacks=list(attacks),
                targets=list(targets),
                seed=seed,
                name='tiny'), **(loop or {})),
        test_evaluator=dict(type='RobustnessMetric', **(metric or {})),
        default_scope='mmaction',
        # Unique: runners made in the same second would share the
        # timestamp name of their logger and visualizer.
        experiment_name=f'robust_{uuid.uuid4().hex}',
        log_level='WARNING')
