# Copyright (c) mmamr contributors. All rights reserved.
"""Robustness flags of ``tools/test.py``.

``--attack pgd --steps 20 --eps 8 --alpha 2 --targets rgb skeleton both
--baseline work_dirs/none/robustness.json`` replaces the config's test
loop and evaluator by :class:`RobustTestLoop` and
:class:`RobustnessMetric`; ``--eps-sweep 0 2 4 8`` evaluates every
attack at each ε and writes accuracy-vs-ε curves (JSON + PNG). ε and α
are in /255 units on the command line, for both modalities (RGB grey
levels; skeleton: the same fraction of the ``NormalizeSkeleton`` range,
DESIGN.md D5).
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from ..evaluation.eps_sweep import (dump_curves, plot_curves, sweep_attacks,
                                    sweep_curves)
from ..evaluation.robustness import COLUMNS, load_results

ATTACK_TYPES = dict(fgsm='FGSM', pgd='PGD', cw='CW')
# Steps of the paper's evaluation attacks: PGD20 and CW by PGD30 (§4.2).
DEFAULT_STEPS = dict(pgd=20, cw=30)
DEFAULT_EPS, DEFAULT_ALPHA = 8., 2.
SWEEP_FILES = ('eps_sweep.json', 'eps_sweep.png')


def add_robust_args(parser: argparse.ArgumentParser) -> None:
    """Add the robustness flags to ``tools/test.py``'s parser."""
    group = parser.add_argument_group(
        'robustness (mmamr)',
        'Evaluate clean and adversarial accuracy (✓RS, ✗R, ✗S, ✗RS), Avg '
        'and RI in one pass; replaces the config\'s test_cfg and '
        'test_evaluator. ε and α in /255 units.')
    group.add_argument(
        '--attack',
        nargs='+',
        action='extend',
        type=str.lower,
        choices=sorted(ATTACK_TYPES),
        help='attacks to run (repeatable): fgsm, pgd, cw')
    group.add_argument(
        '--targets',
        nargs='+',
        choices=COLUMNS,
        help='attacked modalities: rgb (✗R), skeleton (✗S), both (✗RS); '
        'default: all three')
    group.add_argument(
        '--eps', type=float, help=f'L∞ budget /255 (default {DEFAULT_EPS:g})')
    group.add_argument(
        '--alpha',
        type=float,
        help=f'PGD/CW step size /255 (default {DEFAULT_ALPHA:g})')
    group.add_argument(
        '--steps',
        type=int,
        help='PGD/CW steps (default: 20 for PGD, 30 for CW, as the paper)')
    group.add_argument(
        '--kappa', type=float, help='CW confidence κ (default: the CW '
        'default, 50)')
    group.add_argument(
        '--no-random-start',
        action='store_true',
        help='PGD/CW start from the clean input')
    group.add_argument(
        '--attack-seed',
        type=int,
        help='seed of the per-sample random starts (default 0)')
    group.add_argument(
        '--baseline',
        help='robustness.json of the baseline model ("None") for RI')
    group.add_argument(
        '--eps-sweep',
        nargs='+',
        type=float,
        metavar='EPS',
        help='evaluate each attack at these ε (/255) and write '
        'eps_sweep.json and eps_sweep.png to the work dir')


def check_robust_args(args: argparse.Namespace) -> None:
    """Raise ValueError for inconsistent robustness flags."""
    given = [
        f'--{name.replace("_", "-")}'
        for name in ('targets', 'eps', 'alpha', 'steps', 'kappa',
                     'attack_seed', 'baseline', 'eps_sweep')
        if getattr(args, name, None) is not None
    ]
    if args.no_random_start:
        given.append('--no-random-start')
    attacks = args.attack or []
    if not attacks:
        if given:
            raise ValueError(f'{" ".join(given)} need --attack '
                             '(fgsm, pgd and/or cw).')
        return
    if len(set(attacks)) != len(attacks):
        raise ValueError(f'--attack {" ".join(attacks)}: an attack is '
                         'given twice.')
    iterative = [a for a in attacks if a != 'fgsm']
    for flag, value in (('--alpha', args.alpha), ('--steps', args.steps),
                        ('--no-random-start', args.no_random_start or None)):
        if value is not None and not iterative:
            raise ValueError(f'{flag} has no effect on FGSM; add pgd or cw '
                             'to --attack.')
    if args.kappa is not None and 'cw' not in attacks:
        raise ValueError('--kappa is a CW parameter; add cw to --attack.')
    if args.eps_sweep is not None and args.eps is not None:
        raise ValueError('--eps and --eps-sweep exclude each other.')
    for flag, value in (('--eps', args.eps), ('--alpha', args.alpha)):
        if value is not None and not value >= 0:
            raise ValueError(f'{flag} {value:g} must be >= 0 (/255).')
    if args.eps_sweep is not None and any(not e >= 0
                                          for e in args.eps_sweep):
        raise ValueError('--eps-sweep values must be >= 0 (/255).')
    if args.steps is not None and args.steps < 1:
        raise ValueError(f'--steps {args.steps} must be >= 1.')
    if args.baseline is not None:
        load_results(args.baseline)


def attack_configs(args: argparse.Namespace) -> List[dict]:
    """Attack configs (with names) of the flags, in ``--attack`` order."""
    eps = (DEFAULT_EPS if args.eps is None else args.eps) / 255
    alpha = (DEFAULT_ALPHA if args.alpha is None else args.alpha) / 255
    configs = []
    for attack in args.attack:
        cfg = dict(
            type=ATTACK_TYPES[attack], eps=dict(rgb=eps, skeleton=eps))
        if attack != 'fgsm':
            steps = args.steps or DEFAULT_STEPS[attack]
            cfg.update(
                steps=steps,
                alpha=dict(rgb=alpha, skeleton=alpha),
                random_start=not args.no_random_start)
        if attack == 'cw' and args.kappa is not None:
            cfg['kappa'] = args.kappa
        cfg['name'] = cfg['type'] + (str(cfg['steps'])
                                     if 'steps' in cfg else '')
        configs.append(cfg)
    return configs


def apply_robust_args(cfg: Config,
                      args: argparse.Namespace) -> Optional[dict]:
    """Replace the test loop and evaluator as the flags say.

    Args:
        cfg (Config): The test config (changed in place).
        args (argparse.Namespace): Parsed flags.

    Returns:
        dict, optional: The sweep (``attacks`` names and ``eps``) to pass
        to :func:`write_eps_sweep` after the test; None without
        ``--eps-sweep``.
    """
    check_robust_args(args)
    if not args.attack:
        return None
    attacks = attack_configs(args)
    sweep = None
    if args.eps_sweep is not None:
        sweep = dict(
            attacks=[a['name'] for a in attacks], eps=list(args.eps_sweep))
        attacks = sweep_attacks(attacks, args.eps_sweep)
    cfg.test_cfg = dict(
        type='RobustTestLoop',
        attacks=attacks,
        targets=list(args.targets or COLUMNS),
        seed=0 if args.attack_seed is None else args.attack_seed)
    cfg.test_evaluator = dict(
        type='RobustnessMetric',
        baseline=args.baseline,
        # A worst case over the ε of a sweep would be the largest ε.
        worst_case=sweep is None)
    return sweep


def write_eps_sweep(work_dir: str, sweep: dict) -> List[str]:
    """Curves (JSON) and plot (PNG) of a finished sweep, from the
    ``robustness.json`` in ``work_dir``; on the main process only.

    Returns:
        list[str]: The written files (empty on other processes).
    """
    if not is_main_process():
        return []
    results = load_results(osp.join(work_dir, 'robustness.json'))
    curves = sweep_curves(results, sweep['attacks'], sweep['eps'])
    json_file, png_file = (osp.join(work_dir, f) for f in SWEEP_FILES)
    dump_curves(curves, json_file)
    plot_curves(curves, png_file)
    print_log(f'ε sweep written to {json_file} and {png_file}.', 'current')
    return [json_file, png_file]
