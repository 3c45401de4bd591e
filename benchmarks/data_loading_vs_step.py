# Copyright (c) mmamr contributors. All rights reserved.
"""Data-loading throughput against training-step time on one config.

A benchmark, not a test: it answers "is data loading the bottleneck of
training?" for ``configs/c3d_hcn_synthetic.py`` (or any config given with
``--config``) on this machine. Measured side by side in one run, each
after a warm-up:

1. **loading alone**: the config's train dataloader, built exactly as the
   runner builds it (``Runner.build_dataloader``), iterated without any
   training, with the config's ``num_workers`` (or ``--workers``) and
   with 0 workers (loading in the main process);
2. **step alone**: one training iteration of the model on a batch already
   in memory, the runner's own step (``model.train_step``: data
   preprocessor, forward in ``loss`` mode, backward and the config's
   optimizer step through mmengine's ``OptimWrapper``);
3. **training with the loader**: the real thing, batches drawn from a
   dataloader with workers while the steps run, timed like mmengine's
   ``data_time`` and ``time`` log fields, because the workers and the
   step compete for the same CPU cores;
4. with ``--pin`` (Linux), (3) again with the step's process on one core
   of its own and the workers on the others: the layout of a GPU machine,
   where the step does not compete with the workers for the CPU. It tells
   whether a wait in (3) comes from the cores being shared or from the
   hand-over of batches, which the main process pays either way.

The ratio ``step time / loading time per batch`` above 1 means workers
running in parallel could keep up; the verdict rests on (3), the share of
each training iteration spent waiting for data.

Example::

    .venv/bin/python benchmarks/data_loading_vs_step.py \\
        --batches 20 --json work_dirs/benchmarks/loading.json

The synthetic dataset is generated under ``--data-root`` when its
annotation file is missing. Torch keeps its default thread count (one
per core) unless ``--threads`` is given; on a small, shared machine the
step time depends strongly on it (see ``docs/benchmarks.md``).
"""
import argparse
import contextlib
import copy
import os
import os.path as osp
import sys
import time
from functools import partial
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from harness import add_common_args, command, machine, machine_line, report
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmengine.utils.dl_utils import set_multi_processing

import mmamr  # noqa: F401  (applies mmamr.compat before mmengine runs)
from mmamr.data_prep.ntu_converter import convert_ntu
from mmamr.data_prep.synthetic import (SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic)
from mmamr.utils import init_weights_quietly

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ANN_FILE = 'synthetic_3d_rgb.pkl'
# A training run that waits for data less than this share of each
# iteration is compute-bound; mmengine logs show the same as data_time
# being a small fraction of time.
DEFAULT_MAX_WAIT = 0.1


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Data-loading throughput against training-step time')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', 'c3d_hcn_synthetic.py'),
        help='config whose train dataloader and model are measured')
    parser.add_argument(
        '--batches',
        type=int,
        default=10,
        help='timed batches per measurement, after the warm-up')
    add_common_args(parser, warmup=2)
    parser.add_argument(
        '--workers',
        type=int,
        default=None,
        help='dataloader workers (default: the config\'s num_workers)')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='batch size (default: the config\'s train batch size)')
    parser.add_argument(
        '--data-root',
        default=osp.join(ROOT, 'work_dirs', 'benchmarks', 'synthetic'),
        help='synthetic dataset folder, generated if it lacks ' + ANN_FILE)
    parser.add_argument(
        '--num-per-class',
        type=int,
        default=40,
        help='synthetic samples per class when generating (10 classes)')
    parser.add_argument(
        '--max-wait',
        type=float,
        default=DEFAULT_MAX_WAIT,
        help='largest share of an iteration spent waiting for data that '
        'still counts as "loading is not the bottleneck"')
    parser.add_argument(
        '--pin',
        action='store_true',
        help='also measure training with the step on a core of its own and '
        'the workers on the other cores (Linux, at least 2 cores)')
    return parser.parse_args(argv)


def prepare_data(data_root: str, num_per_class: int, seed: int) -> str:
    """Generate and convert the synthetic dataset unless it exists.

    Args:
        data_root (str): Dataset folder.
        num_per_class (int): Samples per class when generating.
        seed (int): Generation seed.

    Returns:
        str: The annotation file.
    """
    ann_file = osp.join(data_root, ANN_FILE)
    if osp.isfile(ann_file):
        return ann_file
    print_log(
        f'Generating the synthetic dataset in {data_root}', logger='current')
    generate_synthetic(
        data_root,
        seed=seed,
        num_classes=10,
        num_per_class=num_per_class,
        size=(64, 64),
        frame_range=(40, 80),
        workers=1)
    convert_ntu(
        osp.join(data_root, SKELETON_DIR),
        ann_file,
        video_dir=osp.join(data_root, VIDEO_DIR),
        workers=1)
    return ann_file


def load_config(path: str, data_root: str, ann_file: str,
                workers: Optional[int], batch_size: Optional[int]) -> Config:
    """The config at ``path`` with its train loader pointed at the data."""
    cfg = Config.fromfile(path)
    loader = cfg.train_dataloader
    loader.dataset.ann_file = ann_file
    loader.dataset.data_prefix = dict(video=osp.join(data_root, VIDEO_DIR))
    if workers is not None:
        loader.num_workers = workers
    if batch_size is not None:
        loader.batch_size = batch_size
    return cfg


def build_loader(loader_cfg: Config, workers: int, seed: int):
    """The train dataloader as the runner builds it, with ``workers``."""
    loader_cfg = copy.deepcopy(loader_cfg)
    loader_cfg.num_workers = workers
    # torch refuses persistent workers without workers; with workers keep
    # the config's choice, which decides whether epochs restart them.
    loader_cfg.persistent_workers = (
        workers > 0 and loader_cfg.get('persistent_workers', False))
    return Runner.build_dataloader(loader_cfg, seed=seed)


def endless(loader) -> Iterator[dict]:
    """Batches of ``loader`` over as many epochs as asked for."""
    epoch = 0
    while True:
        # As the train loop does, so every epoch is shuffled anew.
        if hasattr(loader.sampler, 'set_epoch'):
            loader.sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def batch_len(batch: dict) -> int:
    return len(batch['data_samples'])


def measure_loading(loader_cfg: Config, workers: int, warmup: int,
                    batches: int, seed: int) -> Dict[str, float]:
    """Loading throughput of the train dataloader alone.

    Nothing else runs, so with workers the main process only waits and
    the batches come as fast as the workers produce them: after the
    warm-up the prefetch queue is empty, and the time between batches is
    the workers' throughput, not a queue being drained.

    Returns:
        dict: ``workers``, ``first_batch_s`` (including worker start-up),
        ``s_per_batch`` and ``samples_per_s``.
    """
    loader = build_loader(loader_cfg, workers, seed)
    it = endless(loader)
    start = time.perf_counter()
    next(it)
    first = time.perf_counter() - start
    for _ in range(warmup - 1):
        next(it)
    samples = 0
    start = time.perf_counter()
    for _ in range(batches):
        samples += batch_len(next(it))
    elapsed = time.perf_counter() - start
    del it, loader  # stops the workers before the next measurement
    return dict(
        workers=workers,
        first_batch_s=first,
        s_per_batch=elapsed / batches,
        samples_per_s=samples / elapsed)


def build_model(cfg: Config, seed: int):
    """The config's model (initialised, train mode) and optim wrapper."""
    set_random_seed(seed)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    return model, optim_wrapper


def measure_step(model, optim_wrapper, batch: dict, warmup: int,
                 batches: int) -> Dict[str, float]:
    """Time of the runner's training step on a batch already in memory.

    ``model.train_step`` is what ``IterBasedTrainLoop`` and
    ``EpochBasedTrainLoop`` call: data preprocessor, loss, backward and
    the optimizer step (with the config's gradient clipping).

    Returns:
        dict: ``s_per_batch`` (mean), ``min_s`` and ``max_s`` (single
        steps, to show how steady the machine was), ``samples_per_s`` and
        the last total ``loss``.
    """
    for _ in range(warmup):
        model.train_step(batch, optim_wrapper)
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        losses = model.train_step(batch, optim_wrapper)
        times.append(time.perf_counter() - start)
    elapsed = sum(times)
    return dict(
        s_per_batch=elapsed / batches,
        min_s=min(times),
        max_s=max(times),
        samples_per_s=batch_len(batch) * batches / elapsed,
        loss=losses['loss'].item())


def _pin_worker(worker_id: int, cores: Tuple[int, ...],
                init_fn: Optional[Callable[[int], None]]) -> None:
    """A dataloader ``worker_init_fn``: run on ``cores``, then ``init_fn``.
    """
    os.sched_setaffinity(0, cores)
    if init_fn is not None:
        init_fn(worker_id)


@contextlib.contextmanager
def step_on_own_core(loader):
    """Pin this process to its first allowed core, ``loader``'s workers
    (started later, in any epoch) to the others; restore on exit."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        raise RuntimeError('--pin needs at least 2 usable cores, this '
                           f'process may use {len(cores)}')
    loader.worker_init_fn = partial(
        _pin_worker, cores=tuple(cores[1:]), init_fn=loader.worker_init_fn)
    os.sched_setaffinity(0, cores[:1])
    try:
        yield
    finally:
        os.sched_setaffinity(0, cores)


def measure_training(loader_cfg: Config,
                     workers: int,
                     model,
                     optim_wrapper,
                     warmup: int,
                     batches: int,
                     seed: int,
                     pin: bool = False) -> Dict[str, float]:
    """Training steps fed by a dataloader with workers, as in a real run.

    Each iteration is timed like mmengine's ``IterTimerHook``:
    ``data_time`` is the wait for the next batch, ``time`` the whole
    iteration. Workers and the step share the CPU cores here, so both
    may run slower than when measured alone, unless ``pin`` gives the
    step a core of its own (:func:`step_on_own_core`).

    Returns:
        dict: ``workers``, ``s_per_iter``, ``data_s_per_iter``,
        ``wait_fraction`` (data time over iteration time),
        ``samples_per_s`` and ``max_data_s`` (the longest single wait).
    """
    loader = build_loader(loader_cfg, workers, seed)
    with (step_on_own_core(loader) if pin else contextlib.nullcontext()):
        it = endless(loader)
        for _ in range(warmup):
            model.train_step(next(it), optim_wrapper)
        data_times, iter_times, samples = [], [], 0
        for _ in range(batches):
            start = time.perf_counter()
            batch = next(it)
            data_times.append(time.perf_counter() - start)
            model.train_step(batch, optim_wrapper)
            iter_times.append(time.perf_counter() - start)
            samples += batch_len(batch)
        del it, loader
    total = sum(iter_times)
    return dict(
        workers=workers,
        s_per_iter=total / batches,
        min_s=min(iter_times),
        max_s=max(iter_times),
        data_s_per_iter=sum(data_times) / batches,
        wait_fraction=sum(data_times) / total,
        max_data_s=max(data_times),
        samples_per_s=samples / total)


def format_report(res: dict) -> str:
    """The results as a Markdown table, ratios and a verdict line."""
    w = res['workers']
    load_w, load_0 = res['loading'], res['loading_0_workers']
    step, train = res['step'], res['training']
    rows = [
        ('data loading alone', w, load_w['s_per_batch'],
         load_w['samples_per_s'], '-', '-'),
        ('data loading alone', 0, load_0['s_per_batch'],
         load_0['samples_per_s'], '-', '-'),
        ('training step alone (batch in memory)', '-', step['s_per_batch'],
         step['samples_per_s'], '{:.3f}-{:.3f}'.format(step['min_s'],
                                                       step['max_s']), '-'),
        ('training with the loader (per iteration)', train['workers'],
         train['s_per_iter'], train['samples_per_s'],
         '{:.3f}-{:.3f}'.format(train['min_s'], train['max_s']),
         '{:.3f} ({:.1%})'.format(train['data_s_per_iter'],
                                  train['wait_fraction'])),
    ]
    pinned = res.get('training_step_on_own_core')
    if pinned:
        rows.append(('the same, step on a core of its own', pinned['workers'],
                     pinned['s_per_iter'], pinned['samples_per_s'],
                     '{:.3f}-{:.3f}'.format(pinned['min_s'], pinned['max_s']),
                     '{:.3f} ({:.1%})'.format(pinned['data_s_per_iter'],
                                              pinned['wait_fraction'])))
    lines = [
        f"config: {res['config']}, batch size {res['batch_size']}, "
        f"{res['batches']} timed batches after {res['warmup']} warm-up",
        machine_line(res['machine']) +
        ', after: {:.2f}'.format(res['loadavg_after'][0]),
        f"optimizer {res['optimizer']}",
        '',
        '| measurement | workers | s / batch | samples / s | min-max s '
        '| data wait s / iter |',
        '|---|---:|---:|---:|---:|---:|',
    ]
    for name, workers, sec, rate, spread, wait in rows:
        lines.append(f'| {name} | {workers} | {sec:.3f} | {rate:.1f} '
                     f'| {spread} | {wait} |')
    lines += [
        '',
        f"step / loading time per batch: {res['ratio']:.2f} with {w} "
        f"workers, {res['ratio_0_workers']:.2f} with 0 workers "
        '(> 1: loading in parallel can keep up)',
        f"training step slowed by concurrent loading: x"
        f"{res['contention']:.2f} (iteration minus data wait, over the "
        'step alone)',
        res['verdict'],
    ]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark; print and return the results.

    Args:
        argv (list[str], optional): Command-line arguments; defaults to
            ``sys.argv[1:]``.

    Returns:
        dict: ``loading`` (with workers), ``loading_0_workers``, ``step``,
        ``training`` (see the ``measure_*`` functions), ``ratio`` and
        ``ratio_0_workers`` (step over loading time per batch),
        ``contention``, ``bottleneck`` (bool), ``verdict`` (str), and the
        settings and machine.
    """
    args = parse_args(argv)
    if args.batches < 1 or args.warmup < 1:
        raise ValueError('--batches and --warmup must be at least 1')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # Other processes on the cores change every figure here; the load
    # average before and after says how quiet the machine was.
    machine_before = machine()
    ann_file = prepare_data(args.data_root, args.num_per_class, args.seed)
    cfg = load_config(args.config, args.data_root, ann_file, args.workers,
                      args.batch_size)
    # What Runner.from_cfg sets up before training: the registry scope
    # and the worker start method, with OpenCV single-threaded so that
    # decoding does not oversubscribe the cores.
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    set_multi_processing(**cfg.get('env_cfg', {}).get('mp_cfg', {}))
    loader_cfg = cfg.train_dataloader
    workers = loader_cfg.num_workers

    # One real batch for the step alone, so the step sees the pipeline's
    # shapes and dtypes but never waits for loading.
    batch = next(iter(build_loader(loader_cfg, 0, args.seed)))
    model, optim_wrapper = build_model(cfg, args.seed)

    loading = measure_loading(loader_cfg, workers, args.warmup, args.batches,
                              args.seed)
    loading_0 = (
        loading if workers == 0 else measure_loading(
            loader_cfg, 0, args.warmup, args.batches, args.seed))
    step = measure_step(model, optim_wrapper, batch, args.warmup, args.batches)
    training = measure_training(loader_cfg, workers, model, optim_wrapper,
                                args.warmup, args.batches, args.seed)
    pinned = (
        measure_training(
            loader_cfg,
            workers,
            model,
            optim_wrapper,
            args.warmup,
            args.batches,
            args.seed,
            pin=True) if args.pin else None)

    ratio = step['s_per_batch'] / loading['s_per_batch']
    ratio_0 = step['s_per_batch'] / loading_0['s_per_batch']
    contention = ((training['s_per_iter'] - training['data_s_per_iter']) /
                  step['s_per_batch'])
    bottleneck = training['wait_fraction'] > args.max_wait
    verdict = (
        'VERDICT: data loading {} the bottleneck: training with {} workers '
        'waits for data {:.1%} of each iteration (limit {:.0%}); step / '
        'loading = {:.2f}.'.format('IS' if bottleneck else 'is not', workers,
                                   training['wait_fraction'], args.max_wait,
                                   ratio))
    if pinned is not None:
        verdict += (' With the step on a core of its own it waits {:.1%} '
                    '({}).'.format(
                        pinned['wait_fraction'],
                        'above the limit' if pinned['wait_fraction']
                        > args.max_wait else 'within the limit'))
    results = dict(
        config=osp.relpath(osp.abspath(args.config), ROOT),
        batch_size=loader_cfg.batch_size,
        workers=workers,
        batches=args.batches,
        warmup=args.warmup,
        command=command('data_loading_vs_step.py', argv),
        machine=machine_before,
        optimizer=cfg.optim_wrapper.optimizer.type,
        loading=loading,
        loading_0_workers=loading_0,
        step=step,
        training=training,
        training_step_on_own_core=pinned,
        ratio=ratio,
        ratio_0_workers=ratio_0,
        contention=contention,
        bottleneck=bottleneck,
        verdict=verdict,
        loadavg_after=os.getloadavg())
    return report(results, format_report(results), args.json)


if __name__ == '__main__':
    main(sys.argv[1:])
