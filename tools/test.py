# Copyright (c) mmamr contributors. All rights reserved.
"""Test a checkpoint: MMAction2's tools/test.py with mmamr loaded."""
import argparse

from mmengine.config import Config

import mmamr  # noqa: F401  (applies mmamr.compat before mmengine runs)
from mmamr.engine.hooks import CheckpointKeysHook
from mmamr.utils import setup_dist_cfg
from mmamr.utils.robust_test_args import (add_robust_args, apply_robust_args,
                                          check_robust_args, write_reports)
from mmamr.utils.tool_args import (add_launch_args, build_runner,
                                   export_local_rank, set_work_dir)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a '
                                     'recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='the dir to save evaluation metrics')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump predictions to a pickle file for offline evaluation')
    add_launch_args(parser)
    add_robust_args(parser)
    args = parser.parse_args()
    try:
        check_robust_args(args)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    export_local_rank(args)
    return args


def merge_args(cfg, args):
    """Merge command-line arguments into the config."""
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump {args.dump}: must be a .pkl file.')
        dump_metric = dict(type='DumpResults', out_file_path=args.dump)
        evaluators = cfg.test_evaluator
        if not isinstance(evaluators, (list, tuple)):
            evaluators = [evaluators]
        cfg.test_evaluator = list(evaluators) + [dump_metric]
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    set_work_dir(cfg, args)
    cfg.load_from = args.checkpoint
    return setup_dist_cfg(cfg)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    # Before merge_args: --dump and --cfg-options apply on top of it.
    post = apply_robust_args(cfg, args)
    cfg = merge_args(cfg, args)
    runner = build_runner(cfg)
    # mmengine only warns when the checkpoint fits none of the model's
    # keys; testing random weights must fail instead.
    runner.register_hook(CheckpointKeysHook(args.checkpoint))
    runner.test()
    # The ε sweep's curves or the sanity report, if asked for.
    write_reports(runner.work_dir, post)


if __name__ == '__main__':
    main()
