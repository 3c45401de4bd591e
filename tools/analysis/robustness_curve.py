# Copyright (c) mmamr contributors. All rights reserved.
"""Overlay the accuracy-vs-ε curves of several runs (the paper's Fig. 2).

Each run is the ``eps_sweep.json`` that ``tools/test.py --eps-sweep``
writes (or its work dir), optionally named ``NAME=PATH``::

    python tools/analysis/robustness_curve.py \\
        None=work_dirs/sweep_none AMR=work_dirs/sweep_amr \\
        --attacks PGD20 --out work_dirs/fig2_pgd20

writes ``fig2_pgd20.png`` (one panel per attack and target ✗R / ✗S /
✗RS, one line per run, its clean accuracy as a dotted line of the same
colour) and ``fig2_pgd20.csv`` (``run, attack, target, eps, accuracy``),
atomically. If either exists, the tool stops before writing anything
unless ``--overwrite`` is given.
"""
import argparse
import csv
import io
from typing import List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from mmamr.common import (refuse_overwrite, save_figure_atomic,
                          write_text_atomic)
from mmamr.evaluation.eps_sweep import SUFFIXES, load_curves
from mmamr.evaluation.robustness import COLUMNS, HEADERS
from mmamr.utils import load_named_runs

Run = Tuple[str, dict]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Accuracy against ε of several runs, overlaid')
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='[NAME=]RUN',
        help='eps_sweep.json files or work dirs holding one; NAME is the '
        'legend (default: the file\'s "name")')
    parser.add_argument(
        '--attacks',
        nargs='+',
        help='attacks to plot (default: those every run has)')
    parser.add_argument(
        '--targets',
        nargs='+',
        choices=COLUMNS,
        help='targets to plot (default: those every run has)')
    parser.add_argument(
        '--k', default='top1', help='accuracy key (default: top1)')
    parser.add_argument(
        '--out',
        required=True,
        help='output prefix: writes PREFIX.png and PREFIX.csv')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace those files if they exist (default: refuse)')
    return parser.parse_args(argv)


def panels(runs: Sequence[Run], attacks: Optional[Sequence[str]],
           targets: Optional[Sequence[str]],
           k: str) -> Tuple[List[str], List[str]]:
    """The attacks and targets to plot, checked against every run."""
    common = [
        a for a in runs[0][1]['curves']
        if all(a in c['curves'] for _, c in runs)
    ]
    if attacks is None:
        if not common:
            raise ValueError('The runs have no swept attack in common: ' +
                             '; '.join(f'{n}: {sorted(c["curves"])}'
                                       for n, c in runs))
        attacks = common
    for name, curves in runs:
        for attack in attacks:
            if attack not in curves['curves']:
                raise KeyError(f'Run {name!r} has no ε sweep of {attack!r}; '
                               f'it has {sorted(curves["curves"])}.')
    if targets is None:
        targets = [
            t for t in COLUMNS
            if all(t in c['curves'][a] for _, c in runs for a in attacks)
        ]
    for name, curves in runs:
        for attack in attacks:
            for target in targets:
                curve = curves['curves'][attack].get(target)
                if curve is None or k not in curve:
                    raise KeyError(f'Run {name!r}, {attack}: no {k} curve '
                                   f'of target {target!r}.')
    if not targets:
        raise ValueError(f'No target is swept in every run for {attacks}.')
    return list(attacks), list(targets)


def csv_text(runs: Sequence[Run], attacks, targets, k: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['run', 'attack', 'target', 'eps (/255)', k])
    for name, curves in runs:
        for attack in attacks:
            curve = curves['curves'][attack]
            for target in targets:
                for eps, acc in zip(curve['eps'], curve[target][k]):
                    writer.writerow(
                        [name, attack, target, f'{eps:g}', f'{acc:.4f}'])
    return buffer.getvalue()


def plot(runs: Sequence[Run], attacks, targets, k: str, path: str) -> None:
    # The object API with the Agg canvas: no global backend, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(
        figsize=(3.6 * len(targets), 3.2 * len(attacks)),
        constrained_layout=True)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(attacks), len(targets), squeeze=False)
    for row, attack in enumerate(attacks):
        for col, target in enumerate(targets):
            ax = axes[row][col]
            for i, (name, curves) in enumerate(runs):
                curve = curves['curves'][attack]
                ax.plot(
                    curve['eps'],
                    curve[target][k],
                    marker='o',
                    color=f'C{i}',
                    label=name)
                ax.axhline(
                    curves['clean'][k],
                    color=f'C{i}',
                    linestyle=':',
                    linewidth=1)
            ax.set_title(f'{attack}-{SUFFIXES[target]} '
                         f'({HEADERS[target]})')
            ax.set_xlabel('ε (/255)')
            ax.set_ylabel(f'{k} accuracy (%)')
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize='small')
    save_figure_atomic(fig, path)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    runs = load_named_runs(args.runs, 'eps_sweep.json', load_curves)
    attacks, targets = panels(runs, args.attacks, args.targets, args.k)
    # Checked once the runs are read (their errors come first) and before
    # anything is written.
    files = [f'{args.out}.png', f'{args.out}.csv']
    refuse_overwrite(files, args.overwrite)
    plot(runs, attacks, targets, args.k, files[0])
    write_text_atomic(csv_text(runs, attacks, targets, args.k), files[1])
    print_log(f'Written: {", ".join(files)}', 'current')
    return files


if __name__ == '__main__':
    main()
