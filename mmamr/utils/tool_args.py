# Copyright (c) mmamr contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` share with MMAction2's:
the launch options, the default work dir and the runner."""
import argparse
import os
import os.path as osp

from mmaction.registry import RUNNERS
from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy format')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """``LOCAL_RANK`` for mmengine, from ``--local-rank`` when the
    launcher did not set it (``torch.distributed.launch`` style)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def set_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """``--work-dir``, else the config's, else
    ``./work_dirs/<config name>``."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])


def build_runner(cfg: Config) -> Runner:
    """The config's ``runner_type`` from mmaction's registry, or
    mmengine's Runner."""
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return RUNNERS.build(cfg)
