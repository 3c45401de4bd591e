# Copyright (c) mmamr contributors. All rights reserved.
"""Robustness flags of ``tools/test.py``.

``--attack pgd --steps 20 --eps 8 --alpha 2 --targets rgb skeleton both
--baseline work_dirs/none/robustness.json`` replaces the config's test
loop and evaluator by :class:`RobustTestLoop` and
:class:`RobustnessMetric`; ``--eps-sweep 0 2 4 8`` evaluates every
attack at each ε and writes accuracy-vs-ε curves (JSON + PNG);
``--attack apgd-ce apgd-dlr apgd-t square autoattack`` adds the
parameter-free attacks of AutoAttack; ``--sanity`` runs the sanity
checks of :mod:`mmamr.evaluation.sanity` instead of ``--attack`` and
writes ``sanity.json`` and ``sanity.md``. ε and α are in /255 units on
the command line, for both modalities (RGB grey levels; skeleton: the
same fraction of the ``NormalizeSkeleton`` range, DESIGN.md D5).
"""
import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log

from ..engine.robust_test_loop import run_suffix
from ..evaluation.eps_sweep import (dump_curves, plot_curves, sweep_attacks,
                                    sweep_curves)
from ..evaluation.robustness import COLUMNS, load_results
from ..evaluation.sanity import sanity_attacks, write_sanity_report

ATTACK_TYPES = {
    'fgsm': 'FGSM',
    'pgd': 'PGD',
    'cw': 'CW',
    'apgd-ce': 'APGD',
    'apgd-dlr': 'APGD',
    'apgd-t': 'APGDT',
    'square': 'Square',
    'autoattack': 'AutoAttack'
}
# Result names of the parameter-free attacks; the others are named
# type + steps (PGD20).
ATTACK_NAMES = {
    'apgd-ce': 'APGD-CE',
    'apgd-dlr': 'APGD-DLR',
    'apgd-t': 'APGD-T',
    'square': 'Square',
    'autoattack': 'AutoAttack'
}
# Steps of the paper's evaluation attacks: PGD20 and CW by PGD30 (§4.2);
# AutoAttack's 100 iterations for APGD (also its stages).
DEFAULT_STEPS = {
    'pgd': 20,
    'cw': 30,
    'apgd-ce': 100,
    'apgd-dlr': 100,
    'apgd-t': 100,
    'autoattack': 100
}
# Attacks with a step size α and a random-start option, and with queries.
STEP_SIZE_ATTACKS = ('pgd', 'cw')
QUERY_ATTACKS = ('square', 'autoattack')
# Square's queries: AutoAttack's 5000; in a sanity run a shorter check.
DEFAULT_QUERIES, SANITY_QUERIES = 5000, 1000
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
        help='attacks to run (repeatable): fgsm, pgd, cw, and '
        'AutoAttack\'s apgd-ce, apgd-dlr, apgd-t, square, autoattack (its '
        'cascade: APGD-CE, APGD-T, Square)')
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
        help='PGD/CW/APGD steps (default: 20 for PGD, 30 for CW, as the '
        'paper; 100 for APGD and AutoAttack\'s APGD stages)')
    group.add_argument(
        '--queries',
        type=int,
        help=f'Square queries (default {DEFAULT_QUERIES}, also in '
        f'autoattack; {SANITY_QUERIES} in --sanity)')
    group.add_argument(
        '--kappa',
        type=float,
        help='CW confidence κ (default: the CW '
        'default, 50)')
    group.add_argument(
        '--no-random-start',
        action='store_true',
        help='PGD/CW start from the clean input')
    group.add_argument(
        '--restarts',
        type=int,
        help='PGD/CW runs from new random starts; per sample the worst '
        'counts (default 1, as the paper)')
    group.add_argument(
        '--best-iterate',
        action='store_true',
        help='PGD/CW keep per sample the worst iterate (a misclassified '
        'one if any), not the last (the paper\'s)')
    group.add_argument(
        '--perturb-padding',
        action='store_true',
        help='let the attacks write into the skeleton padding too (absent '
        'bodies and frames; the threat model before DESIGN.md D7), to '
        'measure what keeping it changes; the attacks are named '
        'e.g. PGD20-padding. Not for reported robust accuracies')
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
    group.add_argument(
        '--sanity',
        action='store_true',
        help='instead of --attack, run the sanity checks (ε = 0, '
        'monotonicity in ε and steps, unbounded ε, white-box vs Square, '
        'transfer) at --eps/--steps and write sanity.json and sanity.md '
        'to the work dir')
    group.add_argument(
        '--transfer-from',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='with --sanity: the source model (e.g. the undefended one) '
        'of the transfer check')


def check_robust_args(args: argparse.Namespace) -> None:
    """Raise ValueError for inconsistent robustness flags."""
    given = [
        f'--{name.replace("_", "-")}'
        for name in ('targets', 'eps', 'alpha', 'steps', 'kappa',
                     'attack_seed', 'baseline', 'eps_sweep', 'queries',
                     'transfer_from') if getattr(args, name, None) is not None
    ]
    if args.no_random_start:
        given.append('--no-random-start')
    if getattr(args, 'perturb_padding', False):
        given.append('--perturb-padding')
    given += run_flags(args)
    attacks = args.attack or []
    if getattr(args, 'sanity', False):
        check_sanity_args(args, given)
        return
    if args.transfer_from is not None:
        raise ValueError('--transfer-from is the source of the --sanity '
                         'transfer check; add --sanity.')
    if not attacks:
        if given:
            raise ValueError(f'{" ".join(given)} need --attack '
                             '(fgsm, pgd, cw, apgd-ce, ...) or --sanity.')
        return
    if len(set(attacks)) != len(attacks):
        raise ValueError(f'--attack {" ".join(attacks)}: an attack is '
                         'given twice.')
    for flag, value, takers in (('--alpha', args.alpha, STEP_SIZE_ATTACKS),
                                ('--no-random-start', args.no_random_start
                                 or None, STEP_SIZE_ATTACKS),
                                ('--steps', args.steps, tuple(DEFAULT_STEPS)),
                                ('--restarts', args.restarts,
                                 STEP_SIZE_ATTACKS),
                                ('--best-iterate', args.best_iterate
                                 or None, STEP_SIZE_ATTACKS),
                                ('--queries', args.queries, QUERY_ATTACKS)):
        if value is not None and not set(attacks) & set(takers):
            raise ValueError(f'{flag} has no effect on '
                             f'{", ".join(a.upper() for a in attacks)}; '
                             f'it applies to {", ".join(takers)}.')
    check_restarts(args)
    if args.kappa is not None and 'cw' not in attacks:
        raise ValueError('--kappa is a CW parameter; add cw to --attack.')
    if args.eps_sweep is not None and args.eps is not None:
        raise ValueError('--eps and --eps-sweep exclude each other.')
    for flag, value in (('--eps', args.eps), ('--alpha', args.alpha)):
        if value is not None and not value >= 0:
            raise ValueError(f'{flag} {value:g} must be >= 0 (/255).')
    if args.eps_sweep is not None and any(not e >= 0 for e in args.eps_sweep):
        raise ValueError('--eps-sweep values must be >= 0 (/255).')
    check_counts(args)
    if args.baseline is not None:
        load_results(args.baseline)


def check_counts(args: argparse.Namespace) -> None:
    """Raise unless ``--steps`` and ``--queries`` are positive."""
    for flag, value in (('--steps', args.steps), ('--queries', args.queries)):
        if value is not None and value < 1:
            raise ValueError(f'{flag} {value} must be >= 1.')


def check_sanity_args(args: argparse.Namespace, given: List[str]) -> None:
    """Raise ValueError for flags that do not go with ``--sanity``."""
    excluded = [
        flag for flag, value in (('--attack', args.attack), ('--eps-sweep',
                                                             args.eps_sweep),
                                 ('--kappa', args.kappa), ('--baseline',
                                                           args.baseline),
                                 ('--no-random-start',
                                  args.no_random_start or None),
                                 ('--perturb-padding',
                                  getattr(args, 'perturb_padding', None)))
        if value
    ]
    excluded += run_flags(args)
    if excluded:
        raise ValueError(f'--sanity runs its own attacks; drop '
                         f'{" ".join(excluded)}.')
    for flag, value in (('--eps', args.eps), ('--alpha', args.alpha)):
        if value is not None and not value > 0:
            raise ValueError(f'{flag} {value:g} must be > 0 (/255) for '
                             '--sanity.')
    check_counts(args)
    for path in args.transfer_from or ():
        if not osp.isfile(path):
            raise ValueError(f'--transfer-from: {path} does not exist.')


def run_flags(args: argparse.Namespace) -> List[str]:
    """``--restarts`` and ``--best-iterate`` where given."""
    return [
        flag for flag, value in (('--restarts', args.restarts),
                                 ('--best-iterate', args.best_iterate or None))
        if value is not None
    ]


def check_restarts(args: argparse.Namespace) -> None:
    """Raise unless ``--restarts`` is >= 1 and has random starts."""
    if args.restarts is None:
        return
    if args.restarts < 1:
        raise ValueError(f'--restarts {args.restarts} must be >= 1.')
    if args.restarts > 1 and args.no_random_start:
        raise ValueError('--restarts needs random starts: runs from the '
                         'clean input are all the same; drop '
                         '--no-random-start.')


def run_options(args: argparse.Namespace) -> dict:
    """PGD/CW's ``restarts`` and ``best_iterate`` where set; the paper's
    defaults are left out, so its configs (and baselines) stay as they
    were."""
    options = dict()
    if args.restarts not in (None, 1):
        options['restarts'] = args.restarts
    if args.best_iterate:
        options['best_iterate'] = True
    return options


def attack_configs(args: argparse.Namespace) -> List[dict]:
    """Attack configs (with names) of the flags, in ``--attack`` order."""
    eps = (DEFAULT_EPS if args.eps is None else args.eps) / 255
    alpha = (DEFAULT_ALPHA if args.alpha is None else args.alpha) / 255
    configs = []
    for attack in args.attack:
        cfg = dict(type=ATTACK_TYPES[attack], eps=dict(rgb=eps, skeleton=eps))
        if attack in STEP_SIZE_ATTACKS:
            cfg.update(
                steps=args.steps or DEFAULT_STEPS[attack],
                alpha=dict(rgb=alpha, skeleton=alpha),
                random_start=not args.no_random_start,
                **run_options(args))
        elif attack in DEFAULT_STEPS:
            cfg['steps'] = args.steps or DEFAULT_STEPS[attack]
        if attack in ('apgd-ce', 'apgd-dlr'):
            cfg['loss'] = attack[len('apgd-'):]
        if attack in QUERY_ATTACKS:
            cfg['queries'] = args.queries or DEFAULT_QUERIES
        if attack == 'cw' and args.kappa is not None:
            cfg['kappa'] = args.kappa
        padding = getattr(args, 'perturb_padding', False)
        if padding:
            cfg['perturb_padding'] = True
        # PGD20, APGD-CE100, Square5000; AutoAttack's settings are many.
        count = '' if attack == 'autoattack' else cfg.get(
            'steps', cfg.get('queries', ''))
        cfg['name'] = (f'{ATTACK_NAMES.get(attack, cfg["type"])}{count}'
                       f'{run_suffix(cfg)}{"-padding" if padding else ""}')
        configs.append(cfg)
    return configs


def apply_robust_args(cfg: Config, args: argparse.Namespace) -> Optional[dict]:
    """Replace the test loop and evaluator as the flags say.

    Args:
        cfg (Config): The test config (changed in place).
        args (argparse.Namespace): Parsed flags.

    Returns:
        dict, optional: What to write after the test (pass it to
        :func:`write_reports`): the sweep (``attacks`` names and ``eps``)
        with ``--eps-sweep``, ``dict(sanity=plan)`` with ``--sanity``;
        None otherwise.
    """
    check_robust_args(args)
    if getattr(args, 'sanity', False):
        attacks, plan = sanity_attacks(
            eps=DEFAULT_EPS if args.eps is None else args.eps,
            alpha=DEFAULT_ALPHA if args.alpha is None else args.alpha,
            steps=args.steps or DEFAULT_STEPS['pgd'],
            queries=args.queries or SANITY_QUERIES,
            transfer=args.transfer_from)
        set_robust_test(cfg, args, attacks, worst_case=False)
        return dict(sanity=plan)
    if not args.attack:
        return None
    attacks = attack_configs(args)
    sweep = None
    if args.eps_sweep is not None:
        sweep = dict(
            attacks=[a['name'] for a in attacks], eps=list(args.eps_sweep))
        attacks = sweep_attacks(attacks, args.eps_sweep)
    # A worst case over the ε of a sweep would be the largest ε.
    set_robust_test(cfg, args, attacks, worst_case=sweep is None)
    return sweep


def set_robust_test(cfg: Config, args: argparse.Namespace, attacks: List[dict],
                    worst_case: bool) -> None:
    """Set ``cfg``'s test loop and evaluator to run ``attacks``."""
    cfg.test_cfg = dict(
        type='RobustTestLoop',
        attacks=attacks,
        targets=list(args.targets or COLUMNS),
        seed=0 if args.attack_seed is None else args.attack_seed)
    cfg.test_evaluator = dict(
        type='RobustnessMetric', baseline=args.baseline, worst_case=worst_case)


def write_reports(work_dir: str, post: Optional[dict]) -> List[str]:
    """Write what :func:`apply_robust_args` asked for after the test:
    the ε sweep's curves or the sanity report; on the main process only.

    Returns:
        list[str]: The written files.
    """
    if post is None or not is_main_process():
        return []
    if 'sanity' not in post:
        return write_eps_sweep(work_dir, post)
    files = write_sanity_report(work_dir, post['sanity'])
    print_log(f'Sanity report written to {" and ".join(files)}.', 'current')
    return files


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
