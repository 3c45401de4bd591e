# Copyright (c) mmamr contributors. All rights reserved.
"""Accuracy against the attack budget ε (the paper's Figure 2).

A sweep is an ordinary robust test whose attack list holds one copy of
each attack per ε (named ``<attack>@eps=<ε>``, ε in /255 units); these
functions build that list and turn the result file into curves and a
plot.

Curve file (``eps_sweep.json``, ``format`` = :data:`SWEEP_FORMAT`)::

    {"format": "mmamr.eps_sweep/1", "name": "i3d_hcn_ntu",
     "eps_unit": "1/255", "clean": {"top1": 88.1, ...},
     "curves": {"PGD20": {"eps": [0, 2, 4, 8],
                          "rgb": {"top1": [88.1, ...], ...},
                          "skeleton": {...}, "both": {...}}}}
"""
import copy
import json
from collections import OrderedDict
from typing import Dict, List, Sequence

from mmamr.common import save_figure_atomic, write_text_atomic
from .robustness import COLUMNS, check_header, read_json

SWEEP_FORMAT = 'mmamr.eps_sweep/1'
# Line labels in the style of Figure 2 (FGSM-R, FGSM-S, FGSM-M).
SUFFIXES = dict(rgb='R', skeleton='S', both='RS')
# Distinct markers and dashes, so that coinciding curves stay visible.
STYLES = dict(
    rgb=dict(marker='o', linestyle='-'),
    skeleton=dict(marker='s', linestyle='--'),
    both=dict(marker='^', linestyle=':'))


def sweep_name(attack: str, eps: float) -> str:
    """``'PGD20@eps=4'`` for ε = 4/255."""
    return f'{attack}@eps={eps:g}'


def sweep_attacks(attacks: Sequence[dict],
                  eps_values: Sequence[float]) -> List[dict]:
    """One copy of every attack config per ε.

    Args:
        attacks (sequence[dict]): Attack configs with a ``name``.
        eps_values (sequence[float]): ε in /255 units, for both
            modalities.

    Returns:
        list[dict]: Configs named by :func:`sweep_name`, each with
        ``eps=dict(rgb=ε/255, skeleton=ε/255)``; the other fields (α,
        steps, ...) unchanged.
    """
    if not eps_values:
        raise ValueError('An ε sweep needs at least one ε.')
    if any(not e >= 0 for e in eps_values):
        raise ValueError(f'ε values must be >= 0; got {list(eps_values)}.')
    out = []
    for cfg in attacks:
        for eps in eps_values:
            point = copy.deepcopy(dict(cfg))
            point['name'] = sweep_name(cfg['name'], eps)
            point['eps'] = dict(rgb=eps / 255, skeleton=eps / 255)
            out.append(point)
    return out


def sweep_curves(results: dict, attacks: Sequence[str],
                 eps_values: Sequence[float]) -> dict:
    """Curves of a robustness result dict of a sweep.

    Args:
        results (dict): The ``robustness.json`` of the sweep.
        attacks (sequence[str]): The swept attacks' names.
        eps_values (sequence[float]): The ε values, in /255 units.

    Returns:
        dict: The curve file's content (schema above).
    """
    curves = OrderedDict()
    for attack in attacks:
        entries = []
        for eps in eps_values:
            name = sweep_name(attack, eps)
            if name not in results['attacks']:
                raise KeyError(f'The results have no attack {name!r}; '
                               f'they have {sorted(results["attacks"])}.')
            entries.append(results['attacks'][name]['columns'])
        curve: Dict[str, object] = dict(eps=[float(e) for e in eps_values])
        for target in COLUMNS:
            if target not in entries[0]:
                continue
            curve[target] = {
                k: [e[target][k] for e in entries]
                for k in entries[0][target]
            }
        curves[attack] = curve
    return dict(
        format=SWEEP_FORMAT,
        name=results['name'],
        eps_unit='1/255',
        clean=results['clean'],
        curves=curves)


def load_curves(path: str) -> dict:
    """Read and validate a curve file (``eps_sweep.json``)."""
    curves = read_json(path, 'ε-sweep curve file')
    check_header(curves, path, SWEEP_FORMAT, 'ε-sweep curve file',
                 ('name', 'clean', 'curves'))
    for attack, curve in curves['curves'].items():
        if 'eps' not in curve:
            raise ValueError(f'{path}: curves.{attack} lacks "eps".')
        for target in COLUMNS:
            for k, values in curve.get(target, {}).items():
                if len(values) != len(curve['eps']):
                    raise ValueError(
                        f'{path}: curves.{attack}.{target}.{k} has '
                        f'{len(values)} values for {len(curve["eps"])} ε.')
    return curves


def dump_curves(curves: dict, path: str) -> None:
    """Write the curve file as JSON, atomically."""
    write_text_atomic(json.dumps(curves, indent=2) + '\n', path)


def plot_curves(curves: dict, path: str, k: str = 'top1') -> None:
    """Plot accuracy against ε, one panel per attack, one line per
    target, and the clean accuracy dashed; save as an image (PNG by the
    file's extension), atomically.

    Uses matplotlib's object API with the Agg canvas, so it changes no
    global backend and needs no display.
    """
    # Imported here: only sweeps need matplotlib.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    attacks = list(curves['curves'])
    fig = Figure(figsize=(4 * len(attacks), 3.4), constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(attacks), squeeze=False)[0]
    for ax, attack in zip(axes, attacks):
        curve = curves['curves'][attack]
        for target in COLUMNS:
            if target in curve:
                ax.plot(
                    curve['eps'],
                    curve[target][k],
                    label=f'{attack}-{SUFFIXES[target]}',
                    **STYLES[target])
        ax.axhline(
            curves['clean'][k],
            color='grey',
            linestyle='--',
            label='Clean acc')
        ax.set_xlabel('ε (/255)')
        ax.set_ylabel(f'{k} accuracy (%)')
        ax.set_ylim(0, 100)
        ax.set_title(f'{curves["name"]}: {attack}')
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    save_figure_atomic(fig, path)
