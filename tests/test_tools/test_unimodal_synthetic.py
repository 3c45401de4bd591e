# Copyright (c) mmamr contributors. All rights reserved.
"""The unimodal synthetic configs (the paper's Table 1 baselines) load only
their own modality from the real synthetic files and train a step."""
import pytest
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401
from mmamr.datasets import rgb_skeleton_collate

CONFIGS = {
    'rgb': ('configs/c3d_synthetic_rgb.py', (1, 3, 8, 32, 32)),
    'skeleton': ('configs/hcn_synthetic_skeleton.py', (1, 2, 32, 25, 3)),
}


@pytest.mark.parametrize('modality', sorted(CONFIGS))
def test_unimodal_config_trains_on_its_modality(modality, synthetic_data):
    from conftest import ROOT
    name, shape = CONFIGS[modality]
    cfg = Config.fromfile(str(ROOT / name))
    init_default_scope('mmaction')
    batch = []
    for key in ('train_dataloader', 'test_dataloader'):
        dataset = dict(
            cfg[key].dataset,
            ann_file=synthetic_data['ann_file'],
            data_prefix=dict(video=synthetic_data['video']),
            split='xsub_train')
        sample = DATASETS.build(dataset)[0]
        assert set(sample['inputs']) == {modality}
        assert tuple(sample['inputs'][modality].shape) == shape
        batch.append(sample)
    model = MODELS.build(cfg.model)
    assert list(model.branches) == [modality]
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    losses = model.train_step(rgb_skeleton_collate(batch), optim)
    assert torch.isfinite(losses['loss'])
    assert any(not torch.equal(b, p)
               for b, p in zip(before, model.parameters()))
    model.eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate(batch))
    assert len(out) == 2 and out[0].pred_score.shape == (10, )
