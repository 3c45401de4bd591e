# Copyright (c) mmamr contributors. All rights reserved.
"""configs/i3d_hcn_imigue.py: the paper's iMiGUE setting, its model, and its
pipelines on the converted real sample (clip 1 of video 298)."""
from pathlib import Path

import imigue_sample
import numpy as np
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  registers the model and transforms
from mmamr.data_prep.imigue_converter import convert_imigue

ROOT = Path(__file__).resolve().parents[2]
imigue_video = pytest.fixture(
    scope='module', name='imigue_video')(
        imigue_sample.long_video)
imigue_raw = pytest.fixture(name='imigue_raw')(imigue_sample.raw_layout)
CONFIG = ROOT / 'configs' / 'i3d_hcn_imigue.py'


@pytest.fixture(scope='module')
def cfg():
    init_default_scope('mmaction')
    return Config.fromfile(str(CONFIG))


@pytest.fixture
def sample(imigue_raw) -> dict:
    """The real clip converted as the data docs say (short side 256)."""
    convert_imigue(
        str(imigue_raw['labels']),
        str(imigue_raw['pose']),
        str(imigue_raw['out']),
        video_dir=str(imigue_raw['videos']),
        out_video_dir=str(imigue_raw['clips']),
        short_side=256)
    return imigue_raw


def build_dataset(cfg, loader: str, sample: dict):
    dataset_cfg = cfg[loader].dataset.copy()
    dataset_cfg.update(
        ann_file=str(sample['out']),
        data_prefix=dict(video=str(sample['clips'])),
        split='xsub_train')  # subject 22 of the sample trains
    return DATASETS.build(dataset_cfg)


def test_paper_schedule_and_2d_skeleton_layout(cfg):
    assert cfg.train_cfg.max_epochs == 40
    (scheduler, ) = cfg.param_scheduler
    assert scheduler.type == 'CosineAnnealingLR' and scheduler.T_max == 40
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
    hcn = cfg.model.skeleton_backbone
    assert (hcn.in_channels, hcn.num_joints, hcn.num_person) == (2, 25, 1)
    assert cfg.model.cls_head.num_classes == 32
    assert cfg.train_dataloader.dataset.split == 'xsub_train'
    assert cfg.val_dataloader.dataset.split == 'xsub_test'
    norm = [t for t in cfg.val_pipeline if t.type == 'NormalizeSkeleton']
    assert norm[0].use_img_shape and norm[0].center_joint is None


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_pipelines_load_the_real_sample(cfg, sample, loader):
    dataset = build_dataset(cfg, loader, sample)
    assert len(dataset) == 2
    item = dataset[0]
    rgb, skeleton = item['inputs']['rgb'], item['inputs']['skeleton']
    assert rgb.shape == (1, 3, 32, 224, 224) and rgb.dtype == torch.uint8
    assert skeleton.shape == (1, 1, 32, 25, 2)
    assert item['data_samples'].gt_label.item() == 3
    # Every sampled frame is one of the clip's frames divided by the clip
    # video's width and height; undetected joints stay exact zeros.
    ann = dataset.get_data_info(0)
    height, width = ann['img_shape']
    frames = ann['keypoint'][0] / np.array([width, height], np.float32)
    for t in range(32):
        got = skeleton[0, 0, t].numpy()
        assert np.abs(frames - got).max(axis=(1, 2)).min() < 1e-6
    detected = skeleton.abs().sum(-1) > 0
    assert 0.3 < detected.float().mean() < 0.7  # legs undetected
    assert skeleton[detected].min() >= 0 and skeleton[detected].max() <= 1


def test_model_builds_and_runs_its_skeleton_branch(cfg, sample):
    model = MODELS.build(cfg.model).eval()
    dataset = build_dataset(cfg, 'val_dataloader', sample)
    batch = model.data_preprocessor(pseudo_collate([dataset[0], dataset[1]]))
    with torch.no_grad():
        feats, n, views = model.branch_features(batch['inputs'], ['skeleton'])
    assert (n, views) == (2, 1)
    assert feats['skeleton'].shape == (2, model.branches['skeleton'].feat_dim)
    assert torch.isfinite(feats['skeleton']).all()


def test_model_classifies_the_real_sample_end_to_end(cfg, sample):
    model = MODELS.build(cfg.model).eval()
    dataset = build_dataset(cfg, 'val_dataloader', sample)
    batch = model.data_preprocessor(pseudo_collate([dataset[0]]))
    with torch.no_grad():
        logits = model(**batch, mode='tensor')
    assert logits.shape == (1, 32) and torch.isfinite(logits).all()
