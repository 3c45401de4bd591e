# Copyright (c) mmamr contributors. All rights reserved.
"""The quickstart: the whole study in small, on the synthetic dataset.

1. generate the synthetic dataset in NTU RGB+D's raw format
   (``tools/data/synthetic/generate_synthetic.py``);
2. convert it with the NTU converter (``tools/data/ntu/convert_ntu.py``);
3. train the undefended I3D + HCN (``configs/i3d_hcn_synthetic.py``);
4. test it and report the clean top-1 accuracy.

Every step is the same code a user runs on NTU; results land in
``work_dirs/quickstart`` (``summary.json``). Run through
``bash tools/quickstart.sh``, which installs what it needs first.
"""
import argparse
import json
import os
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

import mmamr  # noqa: F401  (applies mmamr.compat before mmengine runs)
from mmamr.datasets.ntu_converter import convert_ntu
from mmamr.datasets.synthetic import (SKELETON_DIR, VIDEO_DIR,
                                      generate_synthetic)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description='mmamr quickstart')
    parser.add_argument(
        '--data-root',
        default=osp.join(ROOT, 'data', 'synthetic'),
        help='where the synthetic dataset is written')
    parser.add_argument(
        '--work-dir',
        default=osp.join(ROOT, 'work_dirs', 'quickstart'),
        help='where checkpoints, logs and summary.json go')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--epochs', type=int, default=None, help='override training epochs')
    parser.add_argument(
        '--workers', type=int, default=2, help='data loading processes')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads for the model (1 is fastest on a small CPU '
        'shared with the data workers, see docs/benchmarks.md; 0 keeps '
        "torch's default)")
    parser.add_argument(
        '--num-per-class',
        type=int,
        default=100,
        help='synthetic samples per class (10 classes, 80%% for training)')
    return parser.parse_args()


def prepare_data(data_root: str, seed: int, workers: int,
                 num_per_class: int) -> str:
    """Generate (or reuse) the raw dataset and convert it; return the pkl."""
    generate_synthetic(
        data_root,
        seed=seed,
        num_per_class=num_per_class,
        workers=workers,
        progress=True)
    ann_file = osp.join(data_root, 'synthetic_3d_rgb.pkl')
    convert_ntu(
        osp.join(data_root, SKELETON_DIR),
        ann_file,
        video_dir=osp.join(data_root, VIDEO_DIR),
        workers=workers,
        progress=True)
    return ann_file


def load_config(path: str, data_root: str, ann_file: str, work_dir: str,
                seed: int, workers: int, epochs=None) -> Config:
    """The config at ``path`` pointed at the quickstart's data and dirs."""
    cfg = Config.fromfile(path)
    video_root = osp.join(data_root, VIDEO_DIR)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.ann_file = ann_file
        cfg[loader].dataset.data_prefix = dict(video=video_root)
        cfg[loader].num_workers = workers
        cfg[loader].persistent_workers = workers > 0
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        for scheduler in cfg.param_scheduler:
            scheduler.T_max = epochs
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=seed)
    cfg.launcher = 'none'
    return cfg


def main():
    args = parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    start = time.time()
    ann_file = prepare_data(args.data_root, args.seed, args.workers,
                            args.num_per_class)
    summary = dict()
    run_dir = osp.join(args.work_dir, 'none')
    cfg = load_config(
        osp.join(ROOT, 'configs', 'i3d_hcn_synthetic.py'), args.data_root,
        ann_file, run_dir, args.seed, args.workers, args.epochs)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    summary['none'] = dict(
        config='configs/i3d_hcn_synthetic.py',
        clean_top1=float(metrics['acc/top1']),
        clean_top5=float(metrics['acc/top5']))
    summary['seconds'] = round(time.time() - start, 1)
    os.makedirs(args.work_dir, exist_ok=True)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print_log(
        '\nQuickstart finished in {:.0f} s\n'
        '| model | clean top-1 (✓RS) |\n|---|---|\n'
        '| None (undefended I3D + HCN) | {:.2f} |'.format(
            summary['seconds'], 100 * summary['none']['clean_top1']),
        logger='current')


if __name__ == '__main__':
    main()
