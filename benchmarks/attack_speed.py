# Copyright (c) mmamr contributors. All rights reserved.
"""Cost of the multimodal attacks against training and against the naive
loop, on one config's model with random inputs.

A benchmark, not a test. Measured side by side in one run (the
measurements take turns, repeat after repeat, so that load from other
processes hits all of them alike), each after a warm-up:

1. **training step**: ``model.loss`` on the batch in train mode plus
   ``backward`` with parameter gradients (what ``model.train_step``
   does, minus the data preprocessor and the optimizer step);
2. **PGD step, ✗RS**: a PGD attack on both modalities (eval mode, no
   random start) divided by its number of steps; target (a): at most
   0.75 × the training step, since a step needs the gradient with
   respect to the inputs only, never the parameters';
3. **✗S and ✗R PGD-K, fast path and naive loop**: the same attack with
   ``fast_path=True`` (the untouched branch's features computed once)
   and ``fast_path=False`` (the whole network every step); target (b):
   ✗S fast at most 0.25 × ✗S naive;
4. **APGD step, ✗RS**: APGD-CE and PGD on both modalities, each with the
   ✗RS step count and with one step; a step's cost is the difference
   divided by the extra steps, which leaves out APGD's fixed costs (the
   clean forward, the start's gradient, the last step's forward); target
   (c): an APGD step at most 1.10 × a PGD step. APGD gets the clean
   predictions as labels, so that it attacks every sample (it skips the
   misclassified ones).

Also timed, to explain the ratios: a clean forward without grad in eval
mode, and one forward/backward of each branch alone, with respect to its
input (what an attack needs) and to its parameters (what training
needs besides most input gradients of the inner layers).

Example::

    .venv/bin/python benchmarks/attack_speed.py --threads 1 \\
        --json work_dirs/benchmarks/attack_speed.json

Inputs are uniform random tensors of the config's shapes (RGB
``[B, 1, 3, 16, 56, 56]`` in [0, 1], skeleton ``[B, 1, 2, 32, 25, 3]``
for ``configs/c3d_hcn_synthetic.py``); timing does not depend on values.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional

import torch
from harness import (add_common_args, command, machine, machine_line, report,
                     time_interleaved)
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.attacks import APGD, PGD
from mmamr.utils import config_input_shapes, init_weights_quietly

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Targets of the issue: one PGD step over one training step; ✗S PGD-K
# with the fast path over the naive loop.
MAX_STEP_RATIO = 0.75
MAX_FAST_RATIO = 0.25
# An APGD step over a PGD step (both ✗RS).
MAX_APGD_RATIO = 1.10


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Attack cost against training and the naive loop')
    parser.add_argument(
        '--config',
        default=osp.join(ROOT, 'configs', 'c3d_hcn_synthetic.py'),
        help='config whose model is attacked')
    parser.add_argument('--batch', type=int, default=16, help='batch size')
    parser.add_argument(
        '--steps', type=int, default=20, help='PGD steps of the ✗S/✗R runs')
    parser.add_argument(
        '--step-steps',
        type=int,
        default=5,
        help='PGD steps of the ✗RS run that measures one step')
    parser.add_argument('--repeats', type=int, default=3, help='timed rounds')
    add_common_args(parser)
    parser.add_argument(
        '--profile',
        action='store_true',
        help='also profile one training step and one PGD step (✗RS) and '
        'report where their time goes, by operator')
    parser.add_argument(
        '--first-conv',
        action='store_true',
        help='also time the RGB branch\'s first convolution alone: '
        'forward, input gradient, weight gradient')
    return parser.parse_args(argv)


def build_model(cfg: Config, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    return model


def branch_gradient(model, inputs: Dict[str, torch.Tensor], modality: str,
                    wrt: str) -> Callable[[], None]:
    """One branch's forward/backward in eval mode, with respect to its
    input only (an attack's need) or to its parameters only (a training
    step's, the input being data)."""
    params = [p for p in model.branches[modality].parameters()]

    def run():
        model.eval()
        x = inputs[modality].clone().requires_grad_(wrt == 'input')
        feats, _, _ = model.branch_features({modality: x}, [modality])
        torch.autograd.grad(feats[modality].sum(),
                            [x] if wrt == 'input' else params)

    return run


def measurements(model, inputs: Dict[str, torch.Tensor], labels: torch.Tensor,
                 args: argparse.Namespace) -> Dict[str, Callable[[], None]]:
    """name -> a callable doing the measured work once."""
    samples = [ActionDataSample().set_gt_label(int(y)) for y in labels]
    eps = dict(rgb=8 / 255, skeleton=8 / 255)
    alpha = dict(rgb=2 / 255, skeleton=2 / 255)

    def train_step():
        model.train()
        loss = model.loss(inputs, samples)['loss_cls']
        loss.backward()
        model.zero_grad(set_to_none=True)

    def clean_forward():
        model.eval()
        with torch.no_grad():
            model(inputs)

    def attack(targets, steps, fast):
        pgd = PGD(
            eps=eps,
            alpha=alpha,
            steps=steps,
            random_start=False,
            targets=targets,
            fast_path=fast)
        return lambda: pgd(model, inputs, labels)

    # APGD attacks only the samples classified correctly: with the
    # predictions as labels it attacks all, as PGD does.
    model.eval()
    with torch.no_grad():
        predicted = model(inputs).argmax(1)

    def apgd(steps):
        attack = APGD(eps=eps, steps=steps, loss='ce', targets='both')
        seeds = range(len(labels))

        def run():
            # Per-sample generators, as the robust test loop gives.
            gens = [torch.Generator().manual_seed(i) for i in seeds]
            attack(model, inputs, predicted, generator=gens)

        return run

    return {
        'train_step':
        train_step,
        'clean_forward':
        clean_forward,
        'rgb_branch_input_grad':
        branch_gradient(model, inputs, 'rgb', 'input'),
        'rgb_branch_param_grad':
        branch_gradient(model, inputs, 'rgb', 'param'),
        'skeleton_branch_input_grad':
        branch_gradient(model, inputs, 'skeleton', 'input'),
        'skeleton_branch_param_grad':
        branch_gradient(model, inputs, 'skeleton', 'param'),
        'pgd_both':
        attack('both', args.step_steps, True),
        'pgd_skeleton_fast':
        attack('skeleton', args.steps, True),
        'pgd_skeleton_naive':
        attack('skeleton', args.steps, False),
        'pgd_rgb_fast':
        attack('rgb', args.steps, True),
        'pgd_rgb_naive':
        attack('rgb', args.steps, False),
        'pgd_both_1':
        attack('both', 1, True),
        'apgd_both':
        apgd(args.step_steps),
        'apgd_both_1':
        apgd(1),
    }


def profile_ops(job: Callable[[], None], top: int = 6) -> Dict[str, list]:
    """Where one run of ``job`` spends its time: the ``top`` operators by
    self CPU time (``by_op``), and the top (operator, input shapes)
    pairs (``by_shape``: which layer)."""
    from torch.profiler import ProfilerActivity, profile
    job()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as p:
        job()
    out = dict()
    for key, by_shape in (('by_op', False), ('by_shape', True)):
        events = sorted(
            p.key_averages(group_by_input_shape=by_shape),
            key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in events)
        out[key] = [
            dict(
                op=e.key,
                self_s=e.self_cpu_time_total / 1e6,
                share=e.self_cpu_time_total / total,
                calls=e.count,
                shapes=str(e.input_shapes)[:100] if by_shape else '')
            for e in events[:top if key == 'by_op' else 3]
        ]
    return out


def format_profile(name: str, ops: Dict[str, list]) -> List[str]:
    lines = [
        '', f'profile of one {name} (top operators, then top layers):',
        '| operator | self s | share | calls | input shapes |',
        '|---|---:|---:|---:|---|'
    ]
    for o in ops['by_op'] + ops['by_shape']:
        lines.append(f"| {o['op']} | {o['self_s']:.3f} | {o['share']:.1%} "
                     f"| {o['calls']} | {o['shapes']} |")
    return lines


def first_conv_times(model, inputs: Dict[str, torch.Tensor],
                     repeats: int) -> Dict[str, object]:
    """Forward, input-gradient and weight-gradient time of the RGB
    branch's first convolution alone, on the input it gets in the model.

    An attack needs this layer's input gradient, training its weight
    gradient only; the two can cost very differently.
    """
    conv = next(m for m in model.branches['rgb'].modules()
                if isinstance(m, torch.nn.modules.conv._ConvNd))
    seen = []
    handle = conv.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach()))
    model.eval()
    with torch.no_grad():
        model.branch_features(inputs, ['rgb'])
    handle.remove()
    x = seen[0]
    out = conv(x).detach()
    grad = torch.randn_like(out)

    def forward():
        with torch.no_grad():
            conv(x)

    def input_grad():
        leaf = x.clone().requires_grad_()
        torch.autograd.grad(conv(leaf), leaf, grad)

    def weight_grad():
        torch.autograd.grad(conv(x), conv.weight, grad)

    times = time_interleaved(
        dict(forward=forward, input_grad=input_grad, weight_grad=weight_grad),
        1, repeats)
    fwd = times['forward']['min_s']
    return dict(
        input_shape=list(x.shape),
        weight_shape=list(conv.weight.shape),
        stride=list(conv.stride),
        # Backward alone: the timed gradients include a forward.
        forward_s=fwd,
        input_grad_backward_s=times['input_grad']['min_s'] - fwd,
        weight_grad_backward_s=times['weight_grad']['min_s'] - fwd)


def format_report(res: dict) -> str:
    t = {k: v['median_s'] for k, v in res['times'].items()}
    lines = [
        f"config: {res['config']}, batch {res['batch']}, PGD-{res['steps']}"
        f" for ✗S/✗R, PGD-{res['step_steps']} ✗RS for the step cost; "
        f"median of {res['repeats']} interleaved rounds after "
        f"{res['warmup']} warm-up",
        machine_line(res['machine']) +
        ', after: {:.2f}'.format(res['loadavg_after'][0]),
        '',
        '| measurement | median s | min-max s |',
        '|---|---:|---:|',
    ]
    for name, v in res['times'].items():
        lines.append(f"| {name} | {v['median_s']:.3f} | "
                     f"{v['min_s']:.3f}-{v['max_s']:.3f} |")
    r = res['ratios']

    def verdict(ratio, limit):
        return f"{ratio:.3f} (target <= {limit}): " + ('MET' if ratio <= limit
                                                       else 'MISSED')

    lines += [
        '',
        '(a) PGD step (✗RS) / training step: '
        f"{verdict(r['step_over_train'], MAX_STEP_RATIO)} "
        f"[{t['pgd_both'] / res['step_steps']:.3f} s / "
        f"{t['train_step']:.3f} s]",
        f"(b) ✗S PGD-{res['steps']} fast / naive: "
        f"{verdict(r['skeleton_fast_over_naive'], MAX_FAST_RATIO)} "
        f"[{t['pgd_skeleton_fast']:.3f} s / "
        f"{t['pgd_skeleton_naive']:.3f} s]",
        f"    ✗R PGD-{res['steps']} fast / naive: "
        f"{r['rgb_fast_over_naive']:.3f} [{t['pgd_rgb_fast']:.3f} s / "
        f"{t['pgd_rgb_naive']:.3f} s]",
        '    branch forward-backward, input grad / parameter grad: RGB '
        f"{r['rgb_input_over_param_grad']:.3f}, skeleton "
        f"{r['skeleton_input_over_param_grad']:.3f}; skeleton / RGB "
        f"(input grad): {r['skeleton_over_rgb_branch']:.3f}",
    ]
    a = res['apgd']
    lines.append(
        f"(c) APGD step / PGD step (✗RS, {a['method']}): "
        f"{verdict(a['step_ratio'], MAX_APGD_RATIO)}; fastest runs "
        f"{a['step_ratio_min']:.3f}; whole APGD-{res['step_steps']} / "
        f"PGD-{res['step_steps']}: {a['whole_ratio']:.3f}")
    m = res['ratios_min']
    lines.append('    from the fastest runs instead of the medians: (a) '
                 f"{m['step_over_train']:.3f}, (b) "
                 f"{m['skeleton_fast_over_naive']:.3f}, ✗R "
                 f"{m['rgb_fast_over_naive']:.3f}")
    for name, ops in res.get('profile', {}).items():
        lines += format_profile(name, ops)
    if 'first_conv' in res:
        c = res['first_conv']
        lines += [
            '', f"RGB branch's first conv alone (input {c['input_shape']}, "
            f"weight {c['weight_shape']}, stride {c['stride']}; fastest "
            'runs): forward {:.3f} s, backward for the input gradient '
            '{:.3f} s, backward for the weight gradient {:.3f} s'.format(
                c['forward_s'], c['input_grad_backward_s'],
                c['weight_grad_backward_s'])
        ]
    return '\n'.join(lines)


def compute_ratios(times: Dict[str, Dict[str, float]], step_steps: int,
                   stat: str) -> Dict[str, float]:
    """The ratios of the report from one statistic of the times."""
    t = {k: v[stat] for k, v in times.items()}
    return dict(
        step_over_train=t['pgd_both'] / step_steps / t['train_step'],
        skeleton_fast_over_naive=t['pgd_skeleton_fast'] /
        t['pgd_skeleton_naive'],
        rgb_fast_over_naive=t['pgd_rgb_fast'] / t['pgd_rgb_naive'],
        rgb_input_over_param_grad=t['rgb_branch_input_grad'] /
        t['rgb_branch_param_grad'],
        skeleton_input_over_param_grad=t['skeleton_branch_input_grad'] /
        t['skeleton_branch_param_grad'],
        skeleton_over_rgb_branch=t['skeleton_branch_input_grad'] /
        t['rgb_branch_input_grad'])


def apgd_ratios(times: Dict[str, Dict[str, float]],
                step_steps: int) -> Dict[str, object]:
    """An APGD step's cost over a PGD step's (both ✗RS): the difference
    between K steps and one step over K - 1, per attack (without K >= 2,
    the whole attacks' ratio)."""

    def step_ratio(stat):
        t = {k: v[stat] for k, v in times.items()}
        if step_steps < 2:
            return t['apgd_both'] / t['pgd_both']
        return ((t['apgd_both'] - t['apgd_both_1']) /
                (t['pgd_both'] - t['pgd_both_1']))

    ratio = step_ratio('median_s')
    return dict(
        method=(f'marginal cost of steps 2-{step_steps}'
                if step_steps >= 2 else 'whole attacks of one step'),
        step_ratio=ratio,
        step_ratio_min=step_ratio('min_s'),
        whole_ratio=times['apgd_both']['median_s'] /
        times['pgd_both']['median_s'],
        target=MAX_APGD_RATIO,
        met=ratio <= MAX_APGD_RATIO)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark; print and return the results.

    Returns:
        dict: ``times`` (per measurement: ``median_s``, ``min_s``,
        ``max_s``, ``runs``), ``ratios`` of the medians and ``ratios_min``
        of the fastest runs (``step_over_train``,
        ``skeleton_fast_over_naive``, ``rgb_fast_over_naive``,
        ``rgb_input_over_param_grad``, ``skeleton_input_over_param_grad``,
        ``skeleton_over_rgb_branch``), ``targets_met``, ``apgd`` (an
        APGD step over a PGD step: ``step_ratio``, ``step_ratio_min``,
        ``whole_ratio``, ``method``, ``target``, ``met``) and the settings
        and machine.
    """
    args = parse_args(argv)
    if min(args.batch, args.steps, args.step_steps, args.repeats) < 1:
        raise ValueError('--batch, --steps, --step-steps and --repeats must '
                         'be at least 1')
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    machine_before = machine()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = build_model(cfg, args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    inputs = {
        m: torch.rand(args.batch, *shape, generator=gen)
        for m, shape in config_input_shapes(cfg).items()
    }
    labels = torch.randint(
        0, cfg.model.cls_head.num_classes, (args.batch, ), generator=gen)

    jobs = measurements(model, inputs, labels, args)
    times = time_interleaved(jobs, args.warmup, args.repeats)
    ratios = compute_ratios(times, args.step_steps, 'median_s')
    # The fastest run of each job: what it costs on a quiet machine.
    ratios_min = compute_ratios(times, args.step_steps, 'min_s')
    results = dict(
        command=command('attack_speed.py', argv),
        config=osp.relpath(osp.abspath(args.config), ROOT),
        batch=args.batch,
        steps=args.steps,
        step_steps=args.step_steps,
        repeats=args.repeats,
        warmup=args.warmup,
        machine=machine_before,
        times=times,
        ratios=ratios,
        ratios_min=ratios_min,
        targets_met=dict(
            step_over_train=ratios['step_over_train'] <= MAX_STEP_RATIO,
            skeleton_fast_over_naive=ratios['skeleton_fast_over_naive']
            <= MAX_FAST_RATIO),
        apgd=apgd_ratios(times, args.step_steps),
        loadavg_after=os.getloadavg())
    if args.profile:
        one_step = PGD(steps=1, random_start=False)
        results['profile'] = {
            'training step': profile_ops(jobs['train_step']),
            'PGD step (✗RS)':
            profile_ops(lambda: one_step(model, inputs, labels)),
        }
    if args.first_conv:
        results['first_conv'] = first_conv_times(model, inputs, args.repeats)
    return report(results, format_report(results), args.json)


if __name__ == '__main__':
    main(sys.argv[1:])
