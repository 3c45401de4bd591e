# Copyright (c) mmamr contributors. All rights reserved.
"""Train a recognizer: MMAction2's tools/train.py with mmamr loaded.

Same flags as MMAction2; on a machine without CUDA a launched job uses gloo
(see :func:`mmamr.utils.setup_dist_cfg`).
"""
import argparse

from mmengine.config import Config

import mmamr  # noqa: F401  (applies mmamr.compat before mmengine runs)
from mmamr.engine.hooks import CheckpointKeysHook
from mmamr.utils import setup_dist_cfg
from mmamr.utils.tool_args import (add_launch_args, build_runner,
                                   export_local_rank, set_work_dir)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work directory')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual over the configured batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed',
        action='store_true',
        help='set different seeds for different ranks')
    parser.add_argument(
        '--deterministic',
        action='store_true',
        help='deterministic cuDNN and PyTorch kernels where they exist, a '
        'warning for each op that has none (docs/cluster.md)')
    add_launch_args(parser)
    args = parser.parse_args()
    export_local_rank(args)
    return args


def merge_args(cfg, args):
    """Merge command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    set_work_dir(cfg, args)
    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp does not support {optim_wrapper}.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if cfg.get('randomness', None) is None:
        cfg.randomness = dict(
            seed=args.seed,
            diff_rank_seed=args.diff_rank_seed,
            deterministic=args.deterministic)
    else:
        if args.seed is not None:
            cfg.randomness.seed = args.seed
        if args.deterministic:
            cfg.randomness.deterministic = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return setup_dist_cfg(cfg)


def main():
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    # A `load_from` that fits none of the model's keys (e.g. an RGB-only
    # checkpoint into the two-stream model) must fail, not train from
    # random weights; mmengine only warns.
    runner.register_hook(CheckpointKeysHook())
    runner.train()


if __name__ == '__main__':
    main()
