# Copyright (c) mmamr contributors. All rights reserved.
"""Cost of a PGD-10 AMR training iteration against a standard one.

A benchmark, not a test. On one config's model (default
``configs/amr_c3d_hcn_synthetic.py``: InceptionI3D width 0.25 + HCN with 3
AMRs, RGB 16 x 56 x 56, skeleton 2 x 32 x 25 x 3), one batch in memory,
it times the runner's own training iteration (``model.train_step``: data
preprocessor, ``loss``, backward and the config's optimizer step) for:

1. **standard**: clean training of the same model (``mode='standard'``;
   with AMRs that is the CE of the final and auxiliary predictions);
2. **amr**: AMR training (Eq. 12) with the config's attack, PGD-10 in
   eval mode that differentiates w.r.t. the inputs only
   (``torch.autograd.grad``), as mmamr does;
3. **naive**: the same objective with a PGD written as many training
   loops write it, ``loss.backward()`` at every step, which also computes
   (and then discards) every parameter's gradient.

The three run interleaved, round by round, in one process (the order
rotates each round), so that load from other processes on a shared
machine hits them alike; the ratios use the medians. Before timing, the
script checks that the two PGDs give the same adversarial examples.

Peak memory: each variant also runs in a fresh subprocess (two
iterations after a warm-up one); reported is its peak resident set size
(Linux ``VmHWM``, reset after building the model: everything the process
held at its peak, Python, libraries and allocator caches included) and
the growth of that peak over the resident size with the model and batch
built, i.e. the memory the training iterations add. On CUDA the timed
runs also record ``torch.cuda.max_memory_allocated`` per variant.

Example::

    .venv/bin/python benchmarks/adversarial_training_speed.py --threads 1 \\
        --json work_dirs/benchmarks/adversarial_training.json
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional

import torch
from harness import (add_common_args, command, machine, machine_line, report,
                     time_interleaved)
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

import mmamr  # noqa: F401  (applies mmamr.compat before mmengine runs)
from mmamr.attacks import PGD
from mmamr.attacks.budget import project
from mmamr.models import AdversarialTraining
from mmamr.utils import init_weights_quietly

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
VARIANTS = ('standard', 'amr', 'naive')
# The target: an AMR iteration costs at most this many standard ones.
DEFAULT_MAX_RATIO = 9.0


class ParameterGradPGD(PGD):
    """PGD whose steps call ``loss.backward()`` (the naive way): every step
    also accumulates the parameters' gradients, zeroed at the end so the
    training step that follows starts clean. Same iterates as
    :class:`PGD` for the same generator."""

    def perturb(self, forward, clean, labels, generator):
        adv = self.init_point(clean, generator)
        for _ in range(self.steps):
            adv = {m: x.detach().requires_grad_() for m, x in adv.items()}
            self.objective(forward(adv), labels).sum().backward()
            adv = {
                m:
                project(x.detach() + self.alpha[m] * x.grad.sign(), clean[m],
                        self.eps[m], m)
                for m, x in adv.items()
            }
        forward.model.zero_grad(set_to_none=True)
        return adv


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PGD-10 AMR training iteration vs standard training')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', 'amr_c3d_hcn_synthetic.py'),
        help='config with model.amr.input_shapes and an adversarial '
        'model.train_cfg (its attack is used)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument(
        '--rounds',
        type=int,
        default=5,
        help='timed iterations of each variant, interleaved')
    add_common_args(parser)
    parser.add_argument(
        '--steps', type=int, default=None, help='override the PGD steps')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--max-ratio',
        type=float,
        default=DEFAULT_MAX_RATIO,
        help='target for amr / standard')
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='skip the per-variant memory subprocesses')
    parser.add_argument(
        '--memory-child', choices=VARIANTS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def quiet_init(model) -> None:
    """``init_weights`` without its one INFO record per parameter."""
    init_weights_quietly(model)


def setup(args):
    """Config, model, optim wrapper, batch and the three objectives."""
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    set_random_seed(args.seed)
    model = MODELS.build(cfg.model)
    quiet_init(model)
    model.to(args.device).train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    shapes = cfg.model.amr.input_shapes
    gen = torch.Generator().manual_seed(args.seed)
    num_classes = model.cls_head.num_classes
    batch = dict(
        inputs=dict(
            rgb=[
                torch.randint(0, 256, (1, *shapes['rgb']),
                              generator=gen).to(torch.uint8)
                for _ in range(args.batch_size)
            ],
            skeleton=[
                torch.rand(1, *shapes['skeleton'], generator=gen)
                for _ in range(args.batch_size)
            ]),
        data_samples=[
            ActionDataSample().set_gt_label(i % num_classes)
            for i in range(args.batch_size)
        ])
    objective = cfg.model.train_cfg
    attack = {k: v for k, v in objective.attack.items() if k != 'type'}
    if args.steps is not None:
        attack['steps'] = args.steps
    if objective.attack.type != 'PGD':
        raise ValueError('The benchmark compares PGD implementations; the '
                         f'config attacks with {objective.attack.type}.')
    lam = objective.get('lam', 1.0)
    objectives = dict(
        standard=AdversarialTraining('standard'),
        amr=AdversarialTraining('amr', PGD(**attack), lam),
        naive=AdversarialTraining('amr', ParameterGradPGD(**attack), lam))
    return cfg, model, optim_wrapper, batch, objectives


def same_adversarial_examples(model, batch, objectives) -> bool:
    """Whether both PGDs give the same examples for the same start."""
    data = model.data_preprocessor(batch, training=True)
    labels = torch.stack([s.gt_label for s in data['data_samples']]).view(-1)
    advs = [
        objectives[v].attack(
            model,
            data['inputs'],
            labels,
            generator=torch.Generator(labels.device).manual_seed(0))
        for v in ('amr', 'naive')
    ]
    return all(torch.allclose(advs[0][m], advs[1][m]) for m in advs[0])


def stem_conv_costs(model, batch, device) -> Optional[Dict[str, float]]:
    """Forward and input-gradient time of the RGB branch's first Conv3d
    on this batch (a diagnostic: an attack needs the gradient w.r.t. the
    clip, which standard training never computes)."""
    convs = [m for m in model.branches['rgb'].modules()
             if isinstance(m, torch.nn.Conv3d)] if 'rgb' in model.branches \
        else []
    if not convs:
        return None
    conv, seen = convs[0], dict()
    handle = conv.register_forward_hook(
        lambda module, args, out: seen.update(x=args[0], y=out))
    with torch.no_grad():
        model.eval()
        model(model.data_preprocessor(batch, training=True)['inputs'])
        model.train()
    handle.remove()
    x, y = seen['x'].detach(), seen['y'].detach()
    grad = torch.randn_like(y)
    weight = conv.weight.detach()

    def timed(fn) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(3):
            fn()
        return (time.perf_counter() - start) / 3

    with torch.no_grad():
        forward = timed(lambda: conv(x))
        input_grad = timed(lambda: torch.nn.grad.conv3d_input(
            x.shape, weight, grad, conv.stride, conv.padding, conv.dilation,
            conv.groups))
        weight_grad = timed(lambda: torch.nn.grad.conv3d_weight(
            x, weight.shape, grad, conv.stride, conv.padding, conv.dilation,
            conv.groups))
    return dict(
        input_shape=list(x.shape),
        weight_shape=list(weight.shape),
        forward_s=forward,
        input_grad_s=input_grad,
        weight_grad_s=weight_grad)


def measure_times(model, optim_wrapper, batch, objectives,
                  args) -> Dict[str, Dict]:
    """The runner's ``train_step`` under each objective, interleaved;
    on CUDA also each variant's peak memory."""

    jobs = dict.fromkeys(VARIANTS,
                         lambda: model.train_step(batch, optim_wrapper))
    peaks = dict()
    cuda = args.device.startswith('cuda')

    def before(variant: str) -> None:
        model.set_adversarial_training(objectives[variant])
        if cuda:
            torch.cuda.reset_peak_memory_stats()

    def after(variant: str) -> None:
        if cuda:
            peaks[variant] = max(
                peaks.get(variant, 0), torch.cuda.max_memory_allocated())

    # The warm-up runs go through the same hooks (the objective is set).
    for variant in VARIANTS:
        before(variant)
        for _ in range(args.warmup):
            jobs[variant]()
    times = time_interleaved(jobs, 0, args.rounds, before, after)
    for variant, peak in peaks.items():
        times[variant]['cuda_peak_mib'] = peak / 2**20
    return times


def memory_status() -> Dict[str, float]:
    """Current and peak resident set size of this process, in MiB.

    Linux: ``VmRSS`` and ``VmHWM`` of ``/proc/self/status`` (the peak of
    this process image alone). Elsewhere ``ru_maxrss``, which on Linux
    would also count the parent's size at ``fork`` (it survives
    ``execve``), hence not used there.
    """
    try:
        with open('/proc/self/status') as f:
            fields = dict(line.split(':', 1) for line in f)
        return dict(
            rss_mib=int(fields['VmRSS'].split()[0]) / 1024,
            peak_mib=int(fields['VmHWM'].split()[0]) / 1024,
            method='VmHWM')
    except (OSError, KeyError):
        # ru_maxrss: KiB on Linux, bytes on macOS.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak /= 2**20 if sys.platform == 'darwin' else 2**10
        return dict(rss_mib=peak, peak_mib=peak, method='ru_maxrss')


def memory_child(args) -> None:
    """Print this process's peak RSS over a few iterations of one variant
    (run by :func:`measure_memory` in a fresh process)."""
    _, model, optim_wrapper, batch, objectives = setup(args)
    try:
        # Reset the peak to the current size (Linux >= 4.0), so that the
        # peak is the training's, not the model construction's.
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass
    base = memory_status()
    model.set_adversarial_training(objectives[args.memory_child])
    for _ in range(1 + 2):
        model.train_step(batch, optim_wrapper)
    peak = memory_status()
    print(
        json.dumps(
            dict(
                peak_mib=peak['peak_mib'],
                base_mib=base['rss_mib'],
                method=peak['method'])))


def measure_memory(args) -> Dict[str, Dict]:
    out = dict()
    for variant in VARIANTS:
        cmd = [
            sys.executable,
            osp.abspath(__file__), '--memory-child', variant, '--config',
            args.config, '--batch-size',
            str(args.batch_size), '--seed',
            str(args.seed), '--device', args.device
        ]
        if args.steps is not None:
            cmd += ['--steps', str(args.steps)]
        if args.threads is not None:
            cmd += ['--threads', str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res['growth_mib'] = res['peak_mib'] - res['base_mib']
        out[variant] = res
    return out


def format_report(res: dict) -> str:
    t, mem = res['times'], res.get('memory', {})
    lines = [
        f"Config: {res['config']}, batch {res['batch_size']}, PGD steps "
        f"{res['pgd_steps']}, device {res['device']}, "
        f"{res['rounds']} interleaved rounds.",
        machine_line(res['machine']),
        f"Same adversarial examples from both PGDs: {res['same_adv']}.",
        'Peak memory: {} of a fresh process per variant.'.format(
            next(iter(mem.values()))['method'] if mem else 'not measured'),
        '',
        '| variant | median s/iter | min-max s | x standard (median) '
        '| peak RSS MiB | peak growth MiB |',
        '|---|---:|---:|---:|---:|---:|',
    ]
    for v in VARIANTS:
        m = mem.get(v, {})
        row = '| {} | {:.3f} | {:.3f}-{:.3f} | {:.2f} | {} | {} |'
        lines.append(
            row.format(v, t[v]['median_s'], t[v]['min_s'], t[v]['max_s'],
                       t[v]['median_s'] / t['standard']['median_s'],
                       f"{m['peak_mib']:.0f}" if m else '-',
                       f"{m['growth_mib']:.0f}" if m else '-'))
    stem = res.get('stem_conv')
    if stem:
        lines += [
            '', 'RGB stem Conv3d {} on {}: forward {:.1f} ms, gradient w.r.t. '
            'its input {:.1f} ms, w.r.t. its weight {:.1f} ms.'.format(
                stem['weight_shape'], stem['input_shape'],
                1e3 * stem['forward_s'], 1e3 * stem['input_grad_s'],
                1e3 * stem['weight_grad_s'])
        ]
    lines += ['', res['verdict']]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark; print and return the results (see module doc)."""
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        memory_child(args)
        return dict()
    if args.rounds < 1 or args.warmup < 0:
        raise ValueError('--rounds must be >= 1 and --warmup >= 0')
    machine_before = machine()
    cfg, model, optim_wrapper, batch, objectives = setup(args)
    same_adv = same_adversarial_examples(model, batch, objectives)
    times = measure_times(model, optim_wrapper, batch, objectives, args)
    stem = stem_conv_costs(model, batch, args.device)
    memory = {} if args.no_memory else measure_memory(args)
    ratio = times['amr']['median_s'] / times['standard']['median_s']
    naive_ratio = times['naive']['median_s'] / times['standard']['median_s']
    verdict = ('VERDICT: a PGD-{} AMR training iteration costs {:.2f}x a '
               'standard one (target <= {:g}x: {}); the naive PGD with '
               'parameter gradients {:.2f}x.'.format(
                   objectives['amr'].attack.steps, ratio, args.max_ratio,
                   'met' if ratio <= args.max_ratio else 'MISSED',
                   naive_ratio))
    results = dict(
        config=osp.relpath(osp.abspath(args.config), ROOT),
        batch_size=args.batch_size,
        pgd_steps=objectives['amr'].attack.steps,
        rounds=args.rounds,
        warmup=args.warmup,
        device=args.device,
        command=command('adversarial_training_speed.py', argv),
        machine=machine_before,
        same_adv=same_adv,
        times=times,
        stem_conv=stem,
        memory=memory,
        ratio=ratio,
        naive_ratio=naive_ratio,
        met=ratio <= args.max_ratio,
        verdict=verdict,
        loadavg_after=os.getloadavg())
    return report(results, format_report(results), args.json)


if __name__ == '__main__':
    main(sys.argv[1:])
