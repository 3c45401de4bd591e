# Copyright (c) mmamr contributors. All rights reserved.
"""Shared pieces of the end-to-end tool tests (``-m slow``).

A tiny synthetic dataset (10 classes x 4 samples, 32-40 frames, 64 x 64
videos) is generated and converted once per session, and every run goes
through the real command-line tools as a subprocess.

Sizes: with 4 samples per class every sample belongs to an X-Sub
*training* subject (subjects cycle with period 10), so ``xsub_val`` is
empty. Training uses the first samples of ``xsub_train``; testing uses
``xview_val`` (camera 1: samples 0 and 3 of each class, 20 in all).
"""
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'c3d_hcn_synthetic.py'
SEED = 0

# Inherits the synthetic config and only makes the *training* pipeline the
# (deterministic) val pipeline: a list of transforms cannot be given with
# --cfg-options. Everything else is set on the command line.
DETERMINISTIC_CONFIG = f"""\
_base_ = [{str(CONFIG)!r}]
train_dataloader = dict(dataset=dict(pipeline={{{{_base_.val_pipeline}}}}))
"""

# No dropout anywhere and frozen BatchNorm statistics in the RGB branch, so
# that a training step is a deterministic function of the weights and the set
# of samples in the global batch (per-process BN statistics would otherwise
# legitimately differ between 1 process x 4 and 2 processes x 2). SGD, so
# that an update is proportional to the gradient (Adam's first step is
# about lr * sign(grad), which would hide a wrongly averaged gradient).
DETERMINISTIC_MODEL = [
    'model.rgb_backbone.norm_eval=True',
    'model.rgb_backbone.dropout_ratio=0',
    'model.skeleton_backbone.dropout=0',
    'model.cls_head.dropout_ratio=0',
    'optim_wrapper.optimizer.type=SGD',
    'optim_wrapper.optimizer.lr=0.05',
    'optim_wrapper.optimizer.momentum=0.9',
    'optim_wrapper.optimizer.weight_decay=0.0005',
]


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory) -> Dict[str, str]:
    """Generate and convert the tiny dataset; ``ann_file`` and ``video``."""
    from mmamr.data_prep.ntu_converter import convert_ntu
    from mmamr.data_prep.synthetic import (SKELETON_DIR, VIDEO_DIR,
                                           generate_synthetic)
    out = tmp_path_factory.mktemp('synthetic_tiny')
    generate_synthetic(
        str(out),
        seed=SEED,
        num_classes=10,
        num_per_class=4,
        frame_range=(32, 40),
        workers=1)
    ann_file = out / 'synthetic_3d_rgb.pkl'
    data = convert_ntu(
        str(out / SKELETON_DIR),
        str(ann_file),
        video_dir=str(out / VIDEO_DIR),
        workers=1)
    assert len(data['annotations']) == 40
    assert len(data['split']['xsub_train']) == 40
    assert len(data['split']['xview_val']) == 20
    return dict(ann_file=str(ann_file), video=str(out / VIDEO_DIR))


@pytest.fixture(scope='session')
def deterministic_config(tmp_path_factory) -> str:
    """Path of the synthetic config with the val pipeline for training."""
    path = tmp_path_factory.mktemp('configs') / 'c3d_hcn_synthetic_det.py'
    path.write_text(DETERMINISTIC_CONFIG)
    return str(path)


def data_options(data: Dict[str, str],
                 train_batch: int = 4,
                 train_samples: Optional[int] = 4,
                 test_batch: int = 2,
                 test_samples: Optional[int] = 7,
                 validate: bool = False) -> List[str]:
    """``--cfg-options`` pointing the dataloaders at ``data``.

    ``*_samples`` keep the first N samples of the split (BaseDataset's
    ``indices``); ``None`` keeps the whole split. The test set defaults to
    7 samples so that two processes need DefaultSampler's padding.
    ``val_dataloader`` only with ``validate``: ``--no-validate`` sets it to
    None *before* ``--cfg-options`` are merged (as in MMAction2's tool), and
    a dict cannot be merged into None.
    """
    loaders = [('train_dataloader', train_batch, 'xsub_train', train_samples),
               ('test_dataloader', test_batch, 'xview_val', test_samples)]
    if validate:
        loaders.append(
            ('val_dataloader', test_batch, 'xview_val', test_samples))
    opts = []
    for loader, batch, split, samples in loaders:
        opts += [
            f'{loader}.batch_size={batch}',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
            f'{loader}.dataset.ann_file={data["ann_file"]}',
            f'{loader}.dataset.data_prefix.video={data["video"]}',
            f'{loader}.dataset.split={split}',
        ]
        if samples is not None:
            opts.append(f'{loader}.dataset.indices={samples}')
    return opts


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tail(text: str, chars: int = 6000) -> str:
    return text[-chars:]


def run_tool(
        args: Sequence[str],
        timeout: float = 240,
        check: bool = True,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run a tool from the repository root; on failure show its output.

    ``args`` starts with ``tools/train.py`` style paths: ``.py`` tools run
    under this interpreter, ``.sh`` ones with ``PYTHON`` set to it and a
    free ``PORT``. One thread per process: the runs are compared with each
    other, and CI machines are small.
    """
    args = [str(a) for a in args]
    full_env = {
        **os.environ,
        'PYTHON':
        sys.executable,
        'PORT':
        str(free_port()),
        'OMP_NUM_THREADS':
        '1',
        'MKL_NUM_THREADS':
        '1',
        'PYTHONPATH':
        os.pathsep.join(
            p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p),
        **(env or {}),
    }
    cmd = (['bash'] if args[0].endswith('.sh') else [sys.executable]) + args
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout)
    if check:
        assert proc.returncode == 0, (
            f'{" ".join(cmd)} exited with {proc.returncode}\n'
            # stderr first: it holds the traceback; stdout is mostly log.
            f'--- stderr (tail) ---\n{tail(proc.stderr)}\n'
            f'--- stdout (tail) ---\n{tail(proc.stdout, 2000)}')
    return proc


def load_checkpoint(path) -> dict:
    import torch
    return torch.load(str(path), map_location='cpu', weights_only=False)
