# Copyright (c) mmamr contributors. All rights reserved.
"""Sanity checks of a robustness evaluation (``tools/test.py --sanity``).

Robust accuracies are believed only from attacks that pass the checks of
Carlini et al. 2019 ("On Evaluating Adversarial Robustness", §5) and Croce
& Hein 2020 (AutoAttack). One robust test runs a fixed battery of attacks
(:func:`sanity_attacks`), then :func:`sanity_checks` reads its
``robustness.json`` and judges, per target (✗R, ✗S, ✗RS, top-1):

1. ``eps0``: PGD at ε = 0 gives exactly the clean accuracy;
2. ``eps_monotone``: PGD's accuracy does not rise with ε (0, ε/4, ε/2, ε,
   2ε);
3. ``steps_monotone``: nor with its steps (K/4, K, 2K);
4. ``unbounded``: APGD-CE at ε = 255/255 (the whole RGB range; 3 m per
   skeleton coordinate) brings the accuracy to at most
   :data:`UNBOUNDED_MAX` % ("about 0"); where it does not, the model does
   not use that input (DESIGN.md D9) or the attack is broken;
5. ``square``: the white-box attacks (PGD, APGD-CE) are not weaker than
   the score-based Square attack; a white-box attack weaker than a
   black-box one means masked gradients (e.g. through ExFMem's unrolled
   ISTA);
6. ``transfer`` (with a source model): nor weaker than PGD examples
   transferred from the source (the undefended model).

A check that fails is *flagged*, with its numbers, never hidden or
retried: the report says where the evaluation cannot be trusted.

Report (``sanity.json``, ``format`` = :data:`SANITY_FORMAT`; and
``sanity.md``)::

    {"format": "mmamr.sanity/1", "name": "amr_c3d_hcn_synthetic",
     "num_samples": 300, "clean": 81.2,
     "settings": {"eps": 8, "steps": 20, "queries": 1000, ...},
     "checks": [{"check": "eps0", "target": "rgb", "status": "pass",
                 "values": {...}, "note": "..."}, ...],
     "flags": 0}
"""
import json
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from mmamr.common import write_text_atomic
from .eps_sweep import sweep_name
from .robustness import COLUMNS, HEADERS, load_results

SANITY_FORMAT = 'mmamr.sanity/1'
SANITY_FILES = ('sanity.json', 'sanity.md')
# ε of the unbounded attack, /255: every RGB value is reachable.
UNBOUNDED_EPS = 255.
# Accuracy (%) the unbounded attack must reach on every target.
UNBOUNDED_MAX = 5.
CHECKS = OrderedDict(
    eps0='ε = 0 gives the clean accuracy',
    eps_monotone='accuracy does not rise with ε',
    steps_monotone='accuracy does not rise with the steps',
    unbounded=f'an unbounded attack (ε = {UNBOUNDED_EPS:g}/255) reaches '
    f'≤ {UNBOUNDED_MAX:g} %',
    square='white-box attacks are not weaker than Square (no gradient '
    'masking)',
    transfer='white-box attacks are not weaker than transferred examples')


def sanity_attacks(
        eps: float = 8.,
        alpha: float = 2.,
        steps: int = 20,
        queries: int = 1000,
        transfer: Optional[Tuple[str, str]] = None) -> Tuple[List[dict], dict]:
    """The attacks of a sanity run and the plan that reads their results.

    Args:
        eps (float): The evaluated budget ε, /255, both modalities.
        alpha (float): PGD's step size, /255.
        steps (int): The evaluated steps K (PGD and APGD-CE).
        queries (int): Queries of the Square attack.
        transfer (tuple[str, str], optional): ``(config, checkpoint)`` of
            the source model of the transfer check (the undefended model).

    Returns:
        tuple: The attack configs (named, for ``RobustTestLoop``) and the
        plan (names and settings) for :func:`sanity_checks`.
    """
    if not eps > 0:
        raise ValueError(f'The sanity checks need ε > 0; got {eps:g}/255.')
    if steps < 1 or queries < 1:
        raise ValueError('The sanity checks need steps and queries >= 1; '
                         f'got {steps} and {queries}.')

    def budget(value: float) -> dict:
        return dict(rgb=value / 255, skeleton=value / 255)

    def pgd(k: int, e: float) -> dict:
        return dict(
            type='PGD',
            name=sweep_name(f'PGD{k}', e),
            steps=k,
            eps=budget(e),
            alpha=budget(alpha))

    eps_grid = [0., eps / 4, eps / 2, eps, 2 * eps]
    steps_grid = sorted({max(1, steps // 4), steps, 2 * steps})
    configs = OrderedDict()
    for e in eps_grid:
        configs[sweep_name(f'PGD{steps}', e)] = pgd(steps, e)
    for k in steps_grid:
        configs.setdefault(sweep_name(f'PGD{k}', eps), pgd(k, eps))
    apgd = sweep_name(f'APGD-CE{steps}', eps)
    unbounded = sweep_name(f'APGD-CE{steps}', UNBOUNDED_EPS)
    square = sweep_name(f'Square{queries}', eps)
    for name, e in ((apgd, eps), (unbounded, UNBOUNDED_EPS)):
        configs[name] = dict(
            type='APGD', name=name, loss='ce', steps=steps, eps=budget(e))
    configs[square] = dict(
        type='Square', name=square, queries=queries, eps=budget(eps))
    transfer_name = None
    if transfer is not None:
        config, checkpoint = transfer
        transfer_name = sweep_name(f'Transfer-PGD{steps}', eps)
        configs[transfer_name] = dict(
            type='Transfer',
            name=transfer_name,
            source=dict(config=config, checkpoint=checkpoint),
            attack=dict(type='PGD', steps=steps, alpha=budget(alpha)),
            eps=budget(eps))
    plan = dict(
        settings=dict(
            eps=eps,
            alpha=alpha,
            steps=steps,
            queries=queries,
            unbounded_eps=UNBOUNDED_EPS,
            unbounded_max=UNBOUNDED_MAX,
            transfer_from=None if transfer is None else list(transfer)),
        eps_grid=[[e, sweep_name(f'PGD{steps}', e)] for e in eps_grid],
        steps_grid=[[k, sweep_name(f'PGD{k}', eps)] for k in steps_grid],
        whitebox=[sweep_name(f'PGD{steps}', eps), apgd],
        unbounded=unbounded,
        square=square,
        transfer=transfer_name)
    return list(configs.values()), plan


def _accuracy(results: dict, attack: str, target: str) -> Optional[float]:
    entry = results['attacks'].get(attack)
    if entry is None:
        raise KeyError(f'The robustness results lack the sanity attack '
                       f'{attack!r}; were they written by a --sanity run?')
    return entry['columns'].get(target, {}).get('top1')


def _rises(points: Sequence[Tuple[float, float]]) -> List[list]:
    """Consecutive pairs ``(x, acc)`` where the accuracy rises."""
    return [[a[0], b[0], a[1], b[1]] for a, b in zip(points, points[1:])
            if b[1] > a[1]]


def sanity_checks(results: dict, plan: dict) -> dict:
    """Judge a sanity run.

    Args:
        results (dict): The ``robustness.json`` of the run.
        plan (dict): The plan of :func:`sanity_attacks`.

    Returns:
        dict: The report (schema in the module docstring).
    """
    clean = results['clean']['top1']
    targets = [
        t for t in COLUMNS
        if _accuracy(results, plan['unbounded'], t) is not None
    ]
    checks = []

    def add(check: str, target: str, ok: bool, values: dict,
            note: str) -> None:
        checks.append(
            dict(
                check=check,
                target=target,
                status='pass' if ok else 'flag',
                values=values,
                note=note))

    for t in targets:
        zero = _accuracy(results, plan['eps_grid'][0][1], t)
        add(
            'eps0', t, zero == clean, dict(clean=clean, eps0=zero),
            '' if zero == clean else 'an attack with no budget changed '
            'predictions: the inputs or the evaluation differ from the '
            'clean pass')
        for check, grid, unit in (('eps_monotone', 'eps_grid', 'ε'),
                                  ('steps_monotone', 'steps_grid', 'steps')):
            points = [(x, _accuracy(results, name, t))
                      for x, name in plan[grid]]
            rises = _rises(points)
            add(
                check, t, not rises,
                dict(points=[list(p) for p in points], rises=rises),
                '; '.join(f'{unit} {a:g} -> {b:g}: {u:.2f} -> {v:.2f} %'
                          for a, b, u, v in rises))
        unbounded = _accuracy(results, plan['unbounded'], t)
        limit = plan['settings']['unbounded_max']
        add(
            'unbounded', t, unbounded <= limit, dict(accuracy=unbounded),
            '' if unbounded <= limit else
            'the attack cannot move this input far enough to change the '
            'prediction: the model may ignore it (compare the reliance '
            'columns, DESIGN.md D9), the steps are too few, or the attack '
            'is broken')
        whitebox = {
            name: _accuracy(results, name, t)
            for name in plan['whitebox']
        }
        best = min(whitebox.values())
        for check in ('square', 'transfer'):
            name = plan[check]
            if name is None:
                continue
            other = _accuracy(results, name, t)
            note = ('' if best <= other else
                    f'{name} leaves fewer samples correct ({other:.2f} %) '
                    f'than the best white-box attack ({best:.2f} %): '
                    'gradients may be masked, the white-box numbers are not '
                    'a robustness claim')
            values = dict(whitebox=whitebox)
            values[check] = other
            add(check, t, best <= other, values, note)
    return dict(
        format=SANITY_FORMAT,
        name=results.get('name'),
        num_samples=results.get('num_samples'),
        clean=clean,
        settings=plan['settings'],
        checks=checks,
        flags=sum(c['status'] == 'flag' for c in checks))


def _cell(check: dict) -> str:
    v = check['values']
    key = check['check']
    if key == 'eps0':
        text = f"{v['eps0']:.2f} (clean {v['clean']:.2f})"
    elif key.endswith('monotone'):
        text = ' → '.join(f'{acc:.2f}' for _, acc in v['points'])
    elif key == 'unbounded':
        text = f"{v['accuracy']:.2f}"
    else:
        text = (f"{min(v['whitebox'].values()):.2f} vs "
                f"{v[key]:.2f}")
    return ('✓ ' if check['status'] == 'pass' else '**FLAG** ') + text


def markdown_sanity(report: dict) -> str:
    """The report as a short Markdown table with the flags explained."""
    s = report['settings']
    lines = [
        f"# Sanity checks of {report['name']}", '',
        f"{report['num_samples']} samples; clean top-1 "
        f"{report['clean']:.2f} %; ε = {s['eps']:g}/255, PGD α = "
        f"{s['alpha']:g}/255, K = {s['steps']} steps, Square "
        f"{s['queries']} queries; top-1 accuracy in %. "
        f"{report['flags']} flag(s).", ''
    ]
    targets = [
        t for t in COLUMNS if any(c['target'] == t for c in report['checks'])
    ]
    lines += [
        '| check | ' + ' | '.join(HEADERS[t] for t in targets) + ' |',
        '|---|' + '---|' * len(targets)
    ]
    for key, title in CHECKS.items():
        cells = {c['target']: c for c in report['checks'] if c['check'] == key}
        if not cells:
            continue
        lines.append(f'| {title} | ' + ' | '.join(
            _cell(cells[t]) if t in cells else '–' for t in targets) + ' |')
    lines += [
        '', 'Monotonicity cells list PGD accuracies over ε = ' +
        ', '.join(f'{e:g}' for e in _grid(report, 'eps')) +
        ' and over steps; comparisons list the best white-box (PGD, '
        'APGD-CE) accuracy vs the other attack\'s.'
    ]
    flagged = [c for c in report['checks'] if c['status'] == 'flag']
    if flagged:
        lines += ['', '## Flags', '']
        lines += [
            f"- {c['check']} ({HEADERS[c['target']]}): {c['note']}"
            for c in flagged
        ]
    return '\n'.join(lines) + '\n'


def _grid(report: dict, kind: str) -> List[float]:
    for check in report['checks']:
        if check['check'] == f'{kind}_monotone':
            return [p[0] for p in check['values']['points']]
    return []


def write_sanity_report(work_dir: str, plan: dict) -> List[str]:
    """Judge the ``robustness.json`` in ``work_dir``; write
    ``sanity.json`` and ``sanity.md`` there.

    Returns:
        list[str]: The written files.
    """
    results = load_results(osp.join(work_dir, 'robustness.json'))
    report = sanity_checks(results, plan)
    json_file, md_file = (osp.join(work_dir, f) for f in SANITY_FILES)
    write_text_atomic(
        json.dumps(report, indent=2, ensure_ascii=False) + '\n', json_file)
    write_text_atomic(markdown_sanity(report), md_file)
    return [json_file, md_file]
