# Copyright (c) mmamr contributors. All rights reserved.
"""Compare runs in the layout of the paper's Tables 2, 6 and 7.

Each run is the ``robustness.json`` that ``tools/test.py --attack ...``
writes (or its work dir), optionally named ``NAME=PATH``. For one attack,
every run is a row ✓RS ✗R ✗S ✗RS Avg RI, then the modality-reliance
columns −R −S (no attack; the RGB / skeleton input replaced by its
dataset mean; ``–`` for a run without them); RI (Eq. 14) is recomputed
against the chosen baseline row (the first by default, the paper's
"None"), whatever baseline the runs were evaluated with::

    python tools/analysis/robustness_table.py \\
        None=work_dirs/i3d_hcn_ntu MinSim=work_dirs/minsim_i3d_hcn_ntu \\
        AMR=work_dirs/amr_i3d_hcn_ntu \\
        --attack PGD20 --baseline None --out work_dirs/table2_pgd20

writes ``table2_pgd20.md`` (Markdown; −R −S shown when a run has them),
``.csv`` (the numbers, −R −S always last, empty where a column was not
evaluated) and ``.png`` (grouped bars of the accuracies, RI beside them),
each atomically. If any of them exists, the
tool stops before writing anything unless ``--overwrite`` is given.
"""
import argparse
import copy
import csv
import io
import logging
from typing import List, Optional, Sequence, Tuple

from mmengine.logging import print_log

from mmamr.common import (refuse_overwrite, save_figure_atomic,
                          write_text_atomic)
from mmamr.evaluation.robustness import (COLUMNS, HEADERS, RELIANCE_NOTE,
                                         add_relative_improvement,
                                         has_reliance, load_results,
                                         markdown_table, reliance_values,
                                         table_headers, table_values)
from mmamr.utils import load_named_runs

FIELDS = ('clean', ) + COLUMNS + ('avg', 'ri')
Row = Tuple[str, dict]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Table 2/6/7 of several runs for one attack')
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='[NAME=]RUN',
        help='robustness.json files or work dirs holding one; NAME is the '
        'row name (default: the file\'s "name")')
    parser.add_argument(
        '--attack',
        required=True,
        help='attack name as in the JSON files, e.g. PGD20, FGSM, CW30')
    parser.add_argument(
        '--baseline',
        help='row name of the RI baseline (default: the first row)')
    parser.add_argument(
        '--k', default='top1', help='accuracy key (default: top1)')
    parser.add_argument(
        '--out',
        required=True,
        help='output prefix: writes PREFIX.md, PREFIX.csv and PREFIX.png')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace those files if they exist (default: refuse)')
    parser.add_argument('--title', help='title of the table and the plot')
    return parser.parse_args(argv)


def with_baseline(rows: Sequence[Row], attack: str, k: str,
                  baseline: Optional[str]) -> Tuple[List[Row], List[str]]:
    """Copies of the rows with RI against the baseline row.

    Returns:
        tuple: The rows, and notes on differences (e.g. the baseline's
        attack configured otherwise) to show with the table.
    """
    names = [name for name, _ in rows]
    baseline = names[0] if baseline is None else baseline
    if baseline not in names:
        raise ValueError(f'--baseline {baseline!r} is not a row; rows: '
                         f'{names}.')
    for name, results in rows:
        if attack not in results['attacks']:
            raise KeyError(f'Run {name!r} has no attack {attack!r}; it has '
                           f'{sorted(results["attacks"])}.')
        if k not in results['clean']:
            raise KeyError(f'Run {name!r} has no {k} accuracy; it has '
                           f'{sorted(results["clean"])}.')
    base = dict(rows)[baseline]
    out, notes = [], []
    for name, results in rows:
        results = copy.deepcopy(results)
        # Only this attack: the runs may differ in their other attacks.
        results['attacks'] = {attack: results['attacks'][attack]}
        for note in add_relative_improvement(results, base, baseline):
            notes.append(f'{name}: {note}')
        out.append((name, results))
    return out, notes


def csv_text(rows: Sequence[Row], attack: str, k: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    # −R −S always: a fixed set of columns for scripts.
    writer.writerow(['model'] + table_headers(reliance=True))
    for name, results in rows:
        values = table_values(results, attack, k) + reliance_values(results, k)
        writer.writerow([name] +
                        ['' if v is None else f'{v:.4f}' for v in values])
    return buffer.getvalue()


def markdown_text(rows: Sequence[Row], attack: str, k: str, baseline: str,
                  notes: Sequence[str], title: Optional[str]) -> str:
    parts = [f'# {title or f"Robustness under {attack}"}', '']
    parts.append(f'{k} accuracy in %. ✗R/✗S/✗RS: RGB / skeleton / both '
                 f'attacked by {attack}; Avg = mean of the robust columns; '
                 f'RI = (✓RS + Avg) − that of {baseline}.' +
                 (f' {RELIANCE_NOTE}' if has_reliance(rows) else ''))
    parts += ['', markdown_table(rows, attack, k)]
    if notes:
        parts += ['', 'Notes:', ''] + [f'- {n}' for n in notes]
    return '\n'.join(parts) + '\n'


def plot(rows: Sequence[Row], attack: str, k: str, path: str,
         title: Optional[str]) -> None:
    """Grouped bars: per accuracy column one bar per run; RI apart."""
    # Imported here: only the plot needs matplotlib. The object API with
    # the Agg canvas changes no global backend and needs no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = [table_values(results, attack, k) for _, results in rows]
    groups = FIELDS[:-1]
    fig = Figure(
        figsize=(2.2 + 1.2 * len(groups) + 0.25 * len(rows) * len(groups),
                 4.2 + 0.25 * ((len(rows) + 3) // 4)),
        constrained_layout=True)
    FigureCanvasAgg(fig)
    acc_ax, ri_ax = fig.subplots(
        1, 2, gridspec_kw=dict(width_ratios=[len(groups), 1.5]))
    width = 0.8 / len(rows)
    for i, (name, _) in enumerate(rows):
        xs = [
            g + (i - (len(rows) - 1) / 2) * width for g in range(len(groups))
        ]
        heights = [0. if v is None else v for v in values[i][:-1]]
        acc_ax.bar(xs, heights, width, label=name)
    acc_ax.set_xticks(range(len(groups)))
    acc_ax.set_xticklabels([HEADERS[g] for g in groups])
    acc_ax.set_ylabel(f'{k} accuracy (%)')
    acc_ax.set_ylim(0, 100)
    acc_ax.set_title(title or f'Robustness under {attack}')
    acc_ax.grid(axis='y', alpha=0.3)
    # Beneath the bars: inside, it would hide the highest ones.
    acc_ax.legend(
        fontsize='small',
        loc='upper center',
        bbox_to_anchor=(0.5, -0.12),
        ncol=min(len(rows), 4))
    ri = [0. if v[-1] is None else v[-1] for v in values]
    colours = [f'C{i}' for i in range(len(rows))]
    ri_ax.bar(range(len(rows)), ri, color=colours)
    ri_ax.axhline(0, color='black', linewidth=0.8)
    ri_ax.set_xticks(range(len(rows)))
    ri_ax.set_xticklabels([name for name, _ in rows],
                          rotation=45,
                          ha='right',
                          fontsize='small')
    ri_ax.set_title('RI')
    ri_ax.grid(axis='y', alpha=0.3)
    save_figure_atomic(fig, path)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    rows, notes = with_baseline(
        load_named_runs(args.runs, 'robustness.json', load_results),
        args.attack, args.k, args.baseline)
    # Checked once the runs are read (their errors come first) and before
    # anything is written.
    files = [f'{args.out}.{ext}' for ext in ('md', 'csv', 'png')]
    refuse_overwrite(files, args.overwrite)
    baseline = args.baseline or rows[0][0]
    for note in notes:
        print_log(note, logger='current', level=logging.WARNING)
    markdown = markdown_text(rows, args.attack, args.k, baseline, notes,
                             args.title)
    write_text_atomic(markdown, files[0])
    write_text_atomic(csv_text(rows, args.attack, args.k), files[1])
    plot(rows, args.attack, args.k, files[2], args.title)
    print_log(markdown, 'current')
    print_log(f'Written: {", ".join(files)}', 'current')
    return files


if __name__ == '__main__':
    main()
