# Copyright (c) mmamr contributors. All rights reserved.
"""The study's tables: the paper's Table 2 layout, one table per attack,
rows = the study's runs, RI against the baseline run."""
import copy
from typing import List, Sequence, Tuple

from ..evaluation.robustness import (RELIANCE, add_relative_improvement,
                                     load_results, markdown_table,
                                     reliance_values)


def table_rows(results_files: Sequence[Tuple[str, str]],
               baseline_label: str) -> List[Tuple[str, dict]]:
    """Load the runs' ``robustness.json`` and fill every row's RI against
    the baseline row (the baseline's own RI is 0 by Eq. 14).

    Args:
        results_files (Sequence[tuple[str, str]]): ``(row label, path)``.
        baseline_label (str): The label of the baseline row.

    Returns:
        list[tuple[str, dict]]: ``(row label, result dict)``.
    """
    rows = [(label, load_results(path)) for label, path in results_files]
    labels = [label for label, _ in rows]
    if baseline_label not in labels:
        raise ValueError(f'Baseline row {baseline_label!r} is not among '
                         f'the study rows {labels}.')
    baseline = copy.deepcopy(dict(rows)[baseline_label])
    for label, results in rows:
        add_relative_improvement(results, baseline)
    return rows


def attack_names(rows: Sequence[Tuple[str, dict]]) -> List[str]:
    """The attacks in the order of the first row's result file."""
    return list(rows[0][1]['attacks']) if rows else []


def markdown_tables(rows: Sequence[Tuple[str, dict]],
                    baseline_label: str,
                    k: str = 'top1') -> str:
    """One Markdown table per attack, with a heading each."""
    parts = []
    for attack in attack_names(rows):
        parts += [
            f'### {attack} ({k} %, RI against {baseline_label})', '',
            markdown_table(rows, attack, k), ''
        ]
    return '\n'.join(parts)


def summary_numbers(rows: Sequence[Tuple[str, dict]], k: str = 'top1') -> dict:
    """``{row: {"clean": x, "reliance": {"rgb": −R, "skeleton": −S},
    attack: {"rgb", "skeleton", "both", "avg", "ri"}}}`` in %, for the
    study's ``summary.json`` and its checks; ``reliance`` is null for a
    run without the diagnostic (a unimodal model, an older result
    file)."""
    summary = dict()
    for label, results in rows:
        entry = dict(clean=results['clean'][k])
        reliance = reliance_values(results, k)
        measured = any(v is not None for v in reliance)
        entry['reliance'] = dict(zip(RELIANCE, reliance)) if measured else None
        for attack, att in results['attacks'].items():
            cells = {t: c[k] for t, c in att['columns'].items()}
            cells['avg'] = att['avg'][k]
            cells['ri'] = (att.get('ri') or {}).get(k)
            entry[attack] = cells
        summary[label] = entry
    return summary
