# Copyright (c) mmamr contributors. All rights reserved.
"""One row of a robustness table: train a config, then evaluate it under
the study's attacks, each step resumable.

A finished step leaves a marker file (``train.done`` holds the final
checkpoint's path, ``test.done`` the result file's), written atomically
after the tool succeeded, so that a study interrupted at any point and
rerun redoes nothing that finished: an unfinished training resumes from
its latest checkpoint (``tools/train.py --resume``), an unfinished test
starts again.
"""
import os.path as osp
import socket
import time
from dataclasses import dataclass, field
from typing import List, Optional

from mmengine.config import Config
from mmengine.logging import print_log

from mmamr.common import write_text_atomic
from .tool_process import run_tool


@dataclass
class StudyRun:
    """A model to train and evaluate.

    Args:
        name (str): Directory name and key in the study's summary, e.g.
            ``'amr'``.
        label (str): Row name in the tables, e.g. ``'AMR'``.
        config (str): The training config, relative to the repository
            root.
        train_options (list[str]): Extra ``--cfg-options`` of the
            training, e.g. ``['train_cfg.max_epochs=4']``.
        init_from (str, optional): Name of an earlier run whose final
            checkpoint initialises this one (``load_from``): adversarial
            fine-tuning of the undefended model.
        reuse (str, optional): Name of an earlier run whose final
            checkpoint this run evaluates instead of training its own
            (ExFMem does not change training).
        build_exfmem (bool): Build ExFMem's feature dictionaries
            (``tools/build_exfmem.py``) into the checkpoint before the
            evaluation.
    """
    name: str
    label: str
    config: str
    train_options: List[str] = field(default_factory=list)
    init_from: Optional[str] = None
    reuse: Optional[str] = None
    build_exfmem: bool = False


def _read_marker(path: str) -> Optional[str]:
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        target = f.read().strip()
    # A marker whose file was deleted since does not count as done.
    return target if osp.exists(target) else None


def train(run: StudyRun,
          run_dir: str,
          root: str,
          data_options: List[str],
          seed: int,
          env: dict,
          load_from: Optional[str] = None,
          procs: int = 1) -> str:
    """Train ``run`` in ``run_dir`` (or resume it); return the final
    checkpoint. ``data_options`` (``--cfg-options``) set the training
    data; the study validates nothing during training.

    ``procs`` > 1 trains in that many processes (``tools/dist_train.sh``'s
    launch, gloo on a CPU) with the config's batch split between them, so
    that the global batch, the learning rate and the number of iterations
    are those of one process. What differs is BatchNorm's training
    statistics, computed per process over its share of the batch as in any
    mmaction2 DDP run, so the weights differ from a one-process run (the
    quickstart's table by up to 5.5 points, docs/results.md); with
    deterministic statistics the two agree up to float summation order
    (``tests/test_tools/test_dist_train.py``). A batch size set in
    ``run.train_options`` is not split; the config's is.
    """
    marker = osp.join(run_dir, 'train.done')
    done = _read_marker(marker)
    if done is not None:
        print_log(f'  [{run.name}] trained already: {done}', 'current')
        return done
    resume = osp.isfile(osp.join(run_dir, 'last_checkpoint'))
    options = list(data_options) + list(run.train_options)
    if load_from is not None:
        options.append(f'load_from={load_from}')
    if procs > 1:
        options.append('train_dataloader.batch_size='
                       f'{_batch_per_process(root, run.config, procs)}')
    args = launch_args('tools/train.py', procs) + [
        run.config, '--work-dir', run_dir, '--seed', seed, '--no-validate'
    ] + (['--resume'] if resume else []) + ['--cfg-options'] + options
    print_log(
        f'  [{run.name}] {"resuming" if resume else "training"} '
        f'{run.config}', 'current')
    start = time.time()
    run_tool(args, osp.join(run_dir, 'train_console.log'), root, env)
    with open(osp.join(run_dir, 'last_checkpoint'), encoding='utf-8') as f:
        checkpoint = f.read().strip()
    write_text_atomic(checkpoint + '\n', marker)
    print_log(
        f'  [{run.name}] trained in {time.time() - start:.0f} s: '
        f'{checkpoint}', 'current')
    return checkpoint


def _batch_per_process(root: str, config: str, procs: int) -> int:
    """The config's ``train_dataloader.batch_size`` split over ``procs``."""
    batch = Config.fromfile(osp.join(root, config)).train_dataloader.batch_size
    if batch % procs:
        raise ValueError(
            f'{config}: train_dataloader.batch_size={batch} cannot be split '
            f'evenly over {procs} training processes; use a number of '
            'processes that divides it.')
    return batch // procs


def build_exfmem(run: StudyRun, checkpoint: str, run_dir: str, root: str,
                 data_options: List[str], env: dict) -> str:
    """Build ExFMem's dictionaries from the training data of
    ``data_options`` into a copy of ``checkpoint``; return the copy."""
    marker = osp.join(run_dir, 'exfmem.done')
    done = _read_marker(marker)
    if done is not None:
        print_log(f'  [{run.name}] dictionaries built already: {done}',
                  'current')
        return done
    out = osp.join(run_dir, 'exfmem.pth')
    args = [
        'tools/build_exfmem.py', run.config, checkpoint, '--out', out,
        '--cfg-options'
    ] + list(data_options)
    print_log(f'  [{run.name}] building ExFMem dictionaries', 'current')
    run_tool(args, osp.join(run_dir, 'exfmem_console.log'), root, env)
    write_text_atomic(out + '\n', marker)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch_args(tool: str, procs: int) -> List[str]:
    """``python`` arguments that start ``tool`` in ``procs`` processes.

    One process runs the tool itself; more run it under
    ``torch.distributed.run`` with ``--launcher pytorch``, as
    ``tools/dist_train.sh`` and ``tools/dist_test.sh`` do (gloo on a
    machine without CUDA), on a free port so that two studies can run side
    by side.
    """
    if procs <= 1:
        return [tool]
    return [
        '-m', 'torch.distributed.run', f'--nproc_per_node={procs}',
        '--master_addr=127.0.0.1', f'--master_port={_free_port()}', tool,
        '--launcher', 'pytorch'
    ]


def evaluate(run: StudyRun,
             checkpoint: str,
             run_dir: str,
             root: str,
             data_options: List[str],
             attack_flags: List[str],
             env: dict,
             baseline: Optional[str] = None,
             procs: int = 1,
             stage: str = 'test') -> str:
    """Evaluate ``checkpoint`` under ``attack_flags`` (``tools/test.py``'s
    robustness flags) on the test data of ``data_options``; return its
    ``robustness.json``.

    ``stage`` names the evaluation, so that a run can have several, each
    resumable on its own: ``'test'`` (the study's attacks) writes to
    ``run_dir/robustness`` with marker ``test.done``; another name, e.g.
    ``'autoattack'``, to ``run_dir/<stage>`` with ``<stage>.done``.

    ``procs`` > 1 splits the test set over that many processes
    (``tools/dist_test.sh``'s launch), which report exactly the numbers of
    one process (``tests/test_tools/test_robust_test.py``): the model is in
    eval mode and the attacks' random starts are seeded per sample, so a
    clip's result does not depend on its batch mates and the split changes
    the time only.
    """
    test_dir = osp.join(run_dir, 'robustness' if stage == 'test' else stage)
    marker = osp.join(run_dir, f'{stage}.done')
    what = 'evaluated' if stage == 'test' else f'{stage} evaluated'
    done = _read_marker(marker)
    if done is not None:
        print_log(f'  [{run.name}] {what} already: {done}', 'current')
        return done
    args = launch_args('tools/test.py', procs) + [
        run.config, checkpoint, '--work-dir', test_dir
    ] + list(attack_flags)
    if baseline is not None:
        args += ['--baseline', baseline]
    args += ['--cfg-options'] + list(data_options)
    print_log(f'  [{run.name}] evaluating under attack ({stage})', 'current')
    start = time.time()
    run_tool(args, osp.join(run_dir, f'{stage}_console.log'), root, env)
    results = osp.join(test_dir, 'robustness.json')
    write_text_atomic(results + '\n', marker)
    print_log(
        f'  [{run.name}] {what} in {time.time() - start:.0f} s: '
        f'{results}', 'current')
    return results
