# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/analysis/amr_weights.py``: Table 3 and Figure 4 of a checkpoint."""
import importlib.util
import re

import pytest
import torch
from conftest import ROOT, run_tool
from mmaction.registry import MODELS
from mmengine.logging import MessageHub

import mmamr  # noqa: F401

TOOL = ROOT / 'tools' / 'analysis' / 'amr_weights.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('amr_weights', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An mmengine-style checkpoint (with a pickled message hub) of a tiny
    model whose 2 AMRs have distinct, known weights."""
    model = MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
            skeleton_backbone=dict(type='HCN', base_channels=32, clip_len=16),
            cls_head=dict(type='FusionHead', num_classes=3),
            amr=dict(
                num_modules=2,
                init='uniform',
                input_shapes=dict(
                    rgb=(3, 16, 32, 32), skeleton=(2, 16, 25, 3)))))
    with torch.no_grad():
        model.between_stages['2'].weights['skeleton'].mul_(0.5)
    path = tmp_path_factory.mktemp('amr_ckpt') / 'epoch_1.pth'
    hub = MessageHub.get_instance('amr_weights_test')
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(epoch=1),
            message_hub=hub.state_dict()), str(path))
    return path, model


def test_tool_writes_table_3_and_figure_4(checkpoint, tmp_path):
    path, model = checkpoint
    run_tool([TOOL, path, '--out-dir', tmp_path, '--title', 'tiny'])
    text = (tmp_path / 'amr_weights.md').read_text()
    assert '|  | AMR 1 | AMR 2 |' in text
    for modality, name in (('rgb', 'W_R'), ('skeleton', 'W_S')):
        row = re.search(rf'\| Mean value of {name} \| (\S+) \| (\S+) \|',
                        text)
        assert row, text
        for depth, cell in zip(('1', '2'), row.groups()):
            mean = model.between_stages[depth].weights[modality].mean()
            assert float(cell) == pytest.approx(float(mean), abs=6e-5)
    # The halved W_S of AMR 2 shows (uniform init: means near 0.5, 0.25).
    assert float(row.group(2)) < 0.3 < float(row.group(1))
    assert 'W_R [128, 2, 1, 1]' in text and '](amr_weights.png)' in text
    png = (tmp_path / 'amr_weights.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000
    # Atomic writes leave no temporary files behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'amr_weights.md', 'amr_weights.png'
    ]


def test_channel_means_average_all_but_the_channel_axis(checkpoint):
    tool = load_tool()
    weights = tool.amr_weights(checkpoint[1].state_dict())
    assert list(weights) == [1, 2]
    w = weights[2]['rgb']
    expected = torch.stack([w[c].mean() for c in range(w.shape[0])])
    torch.testing.assert_close(tool.channel_means(w), expected)


def test_checkpoint_without_amr_is_a_clear_error(tmp_path):
    path = tmp_path / 'plain.pth'
    torch.save(dict(state_dict=dict(w=torch.zeros(1))), str(path))
    proc = run_tool([TOOL, path, '--out-dir', tmp_path / 'out'], check=False)
    assert proc.returncode != 0
    assert 'holds no AMR weights' in proc.stderr and str(path) in proc.stderr
    assert not (tmp_path / 'out' / 'amr_weights.md').exists()
