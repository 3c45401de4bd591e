# Copyright (c) mmamr contributors. All rights reserved.
"""Cost of attacking through ExFMem: a PGD step with and without it.

A benchmark, not a test. White-box attacks on ExFMem differentiate
through the unrolled ISTA (up to 2000 iterations per forward), so each
PGD step pays ISTA's forward and backward on top of the network's. Timed
side by side in one run (interleaved rounds after a warm-up), on one
config's model with random inputs, batch ``--batch``, eval mode:

1. **PGD step, plain**: a ✗RS PGD attack (no random start) on the model
   without ExFMem, divided by its steps;
2. **PGD step, ExFMem**: the same attack on the same weights with ExFMem
   and the reference stopping rule (``‖Δh‖ < 8e-4`` or 2000 iterations);
3. **PGD step, ExFMem, 2000 iterations**: ISTA never stops early (the
   worst case of the rule);
4. **ExFMem alone**: ExFMem's forward and input-gradient backward on the
   batch's branch features, with the stopping rule.

The ISTA iteration counts behind (2) and (4) are reported: they depend on
the dictionaries and features (cost ≈ iterations × the per-iteration
time). By default the weights are a random init and the dictionaries
the model's features of ``num_atoms`` random clips; ``--checkpoint``
(one written by ``tools/build_exfmem.py``) uses trained weights and
dictionaries instead.

Example::

    .venv/bin/python benchmarks/exfmem_cost.py --threads 1 \\
        --json work_dirs/benchmarks/exfmem_cost.json
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional

import torch
from harness import (add_common_args, command, machine, machine_line, report,
                     time_interleaved)
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.attacks import PGD
from mmamr.utils import config_input_shapes, init_weights_quietly

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='PGD step cost with and without ExFMem')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', 'defences',
                         'exfmem_c3d_hcn_synthetic.py'),
        help='config with an ExFMem model.feature_defence')
    parser.add_argument(
        '--checkpoint',
        help='a tools/build_exfmem.py checkpoint (default: random init and '
        'dictionaries of random clips)')
    parser.add_argument('--batch', type=int, default=16, help='batch size')
    parser.add_argument(
        '--steps', type=int, default=3, help='PGD steps per timed attack')
    parser.add_argument(
        '--num-atoms', type=int, help='atoms (default: the config\'s)')
    parser.add_argument('--repeats', type=int, default=3, help='timed rounds')
    add_common_args(parser)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args(argv)


def random_inputs(shapes: Dict[str, tuple], batch: int, gen: torch.Generator,
                  device) -> Dict[str, torch.Tensor]:
    return {
        m: torch.rand(batch, *s, generator=gen).to(device)
        for m, s in shapes.items()
    }


def build_models(cfg: Config, args: argparse.Namespace, shapes):
    """The ExFMem model (dictionaries set) and the same weights without
    ExFMem."""
    if args.num_atoms is not None:
        cfg.model.feature_defence.num_atoms = args.num_atoms
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    if args.checkpoint:
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device).eval()
    defence = model.feature_defence
    if not bool(defence.built):
        gen = torch.Generator().manual_seed(args.seed + 1)
        feats = {m: [] for m in model.modalities}
        with torch.no_grad():
            for start in range(0, defence.num_atoms, args.batch):
                size = min(args.batch, defence.num_atoms - start)
                out, _, _ = model.branch_features(
                    random_inputs(shapes, size, gen, args.device),
                    defend=False)
                for m, f in out.items():
                    feats[m].append(f)
        defence.set_dictionaries({
            m: torch.cat(f).t()
            for m, f in feats.items()
        })
    plain_cfg = cfg.model.copy()
    plain_cfg.pop('feature_defence')
    plain = MODELS.build(plain_cfg)
    missing, _ = plain.load_state_dict(model.state_dict(), strict=False)
    assert not missing, missing
    return model, plain.to(args.device).eval()


def measurements(model, plain, inputs, labels, args, iters: Dict[str, list]):
    defence = model.feature_defence
    pgd = PGD(
        eps=dict(rgb=8 / 255, skeleton=8 / 255),
        alpha=dict(rgb=2 / 255, skeleton=2 / 255),
        steps=args.steps,
        random_start=False,
        targets='both')
    with torch.no_grad():
        raw, _, _ = model.branch_features(inputs, defend=False)

    def record(key):
        iters[key].append(max(defence.last_iters.values()))

    def attack_plain():
        pgd(plain, inputs, labels)

    def attack_exfmem():
        pgd(model, inputs, labels)
        record('pgd_exfmem')

    def attack_exfmem_full():
        tol = defence.tol
        defence.tol = 0.
        try:
            pgd(model, inputs, labels)
        finally:
            defence.tol = tol

    def exfmem_alone():
        x = {m: f.clone().requires_grad_(True) for m, f in raw.items()}
        out = defence(x)
        torch.autograd.grad(
            sum(o.sum() for o in out.values()), list(x.values()))
        record('exfmem_alone')

    return dict(
        pgd_plain=attack_plain,
        pgd_exfmem=attack_exfmem,
        pgd_exfmem_2000=attack_exfmem_full,
        exfmem_alone=exfmem_alone)


def format_report(res: dict) -> str:
    per_step = res['per_step_s']
    lines = [
        f"config: {res['config']}, batch {res['batch']}, ✗RS PGD-"
        f"{res['steps']} (step = attack / steps), {res['num_atoms']} atoms "
        f"({res['dictionaries']}); median of {res['repeats']} interleaved "
        f"rounds after {res['warmup']} warm-up",
        machine_line(res['machine']) + f", device {res['device']}",
        '',
        '| measurement | median s | min-max s | ISTA iterations |',
        '|---|---:|---:|---:|',
    ]
    for name, v in res['times'].items():
        its = res['ista_iterations'].get(name)
        its = '–' if its is None else '-'.join(
            str(i) for i in sorted({min(its), max(its)}))
        lines.append(f"| {name} | {v['median_s']:.3f} | "
                     f"{v['min_s']:.3f}-{v['max_s']:.3f} | {its} |")
    lines += [
        '',
        f"PGD step: plain {per_step['pgd_plain']:.3f} s, ExFMem "
        f"{per_step['pgd_exfmem']:.3f} s ({res['ratios']['exfmem']:.2f}x), "
        f"ExFMem at 2000 iterations {per_step['pgd_exfmem_2000']:.3f} s "
        f"({res['ratios']['exfmem_2000']:.2f}x); one ISTA iteration "
        '(forward + backward, both modalities) '
        f"{1e3 * res['ista_iteration_s']:.3f} ms",
    ]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark; print and return the results.

    Returns:
        dict: ``times`` (per measurement: ``median_s``, ``min_s``,
        ``max_s``, ``runs``), ``per_step_s`` of the three attacks,
        ``ratios`` (``exfmem``, ``exfmem_2000``: per-step time over the
        plain model's), ``ista_iterations`` per measurement,
        ``ista_iteration_s`` and the settings and machine.
    """
    args = parse_args(argv)
    if min(args.batch, args.steps, args.repeats) < 1:
        raise ValueError('--batch, --steps and --repeats must be >= 1.')
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if cfg.model.get('feature_defence', {}).get('type') != 'ExFMem':
        raise ValueError(f'{args.config}: model.feature_defence is not '
                         'ExFMem.')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    shapes = config_input_shapes(cfg)
    model, plain = build_models(cfg, args, shapes)
    gen = torch.Generator().manual_seed(args.seed)
    inputs = random_inputs(shapes, args.batch, gen, args.device)
    with torch.no_grad():
        labels = plain(inputs).argmax(1)
    iters = dict(pgd_exfmem=[], exfmem_alone=[])
    jobs = measurements(model, plain, inputs, labels, args, iters)
    times = time_interleaved(jobs, args.warmup, args.repeats)
    med = {k: v['median_s'] for k, v in times.items()}
    per_step = {
        k: med[k] / args.steps
        for k in ('pgd_plain', 'pgd_exfmem', 'pgd_exfmem_2000')
    }
    # A PGD step runs ISTA once forward and once backward; at the cap
    # that is max_iters iterations of each, for both modalities.
    ista_iteration = (per_step['pgd_exfmem_2000'] -
                      per_step['pgd_plain']) / model.feature_defence.max_iters
    res = dict(
        config=osp.relpath(args.config, ROOT),
        checkpoint=args.checkpoint,
        dictionaries='from --checkpoint'
        if args.checkpoint else 'random init, features of random clips',
        batch=args.batch,
        steps=args.steps,
        num_atoms=model.feature_defence.num_atoms,
        repeats=args.repeats,
        warmup=args.warmup,
        device=args.device,
        command=command('exfmem_cost.py', argv),
        machine=machine(),
        times=times,
        per_step_s=per_step,
        ratios=dict(
            exfmem=per_step['pgd_exfmem'] / per_step['pgd_plain'],
            exfmem_2000=per_step['pgd_exfmem_2000'] / per_step['pgd_plain']),
        ista_iterations=iters,
        ista_iteration_s=ista_iteration)
    return report(res, format_report(res), args.json)


if __name__ == '__main__':
    main()
