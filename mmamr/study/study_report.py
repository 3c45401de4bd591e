# Copyright (c) mmamr contributors. All rights reserved.
"""The study's tables: the paper's Table 2 layout, one table per attack,
rows = the study's runs, RI against the baseline run."""
import copy
from typing import List, Sequence, Tuple, Union

from ..evaluation.robustness import (RELIANCE, add_relative_improvement,
                                     load_results, markdown_table,
                                     reliance_values)
from ..evaluation.robustness_metric import WORST_CASE


def merged_results(paths: Sequence[str]) -> dict:
    """One row's results from several evaluations of the same model on the
    same test set (the study's attacks, then AutoAttack): the attacks of
    the later files are added after the first file's. Each file's
    ``worst-case`` is over its own attacks only, so only the first one's
    is kept; an attack name already present is an error."""
    results = load_results(paths[0])
    for path in paths[1:]:
        more = load_results(path)
        if more['clean'] != results['clean'] or more['num_samples'] != results[
                'num_samples']:
            raise ValueError(f'{path} and {paths[0]} disagree on the clean '
                             'accuracy or the test set: not one model.')
        record, extra = results.get('per_sample'), more.get('per_sample')
        if record is None and extra is not None:
            # Per-sample hits of the attacks of the files that have them
            # (an older file has none).
            record = results['per_sample'] = dict(extra, attacks=dict())
        elif record is not None and extra is not None and (
                record['samples'], record['clean']) != (extra['samples'],
                                                        extra['clean']):
            raise ValueError(f'{path} and {paths[0]} disagree on the '
                             'samples or their clean hits.')
        for attack, entry in more['attacks'].items():
            if attack == WORST_CASE:
                continue
            if attack in results['attacks']:
                raise ValueError(f'{attack} is in both {paths[0]} and '
                                 f'{path}.')
            results['attacks'][attack] = entry
            if extra is not None:
                record['attacks'][attack] = extra['attacks'][attack]
    return results


def table_rows(results_files: Sequence[Tuple[str, Union[str, Sequence[str]]]],
               baseline_label: str) -> List[Tuple[str, dict]]:
    """Load the runs' ``robustness.json`` and fill every row's RI against
    the baseline row (the baseline's own RI is 0 by Eq. 14).

    Args:
        results_files (Sequence[tuple]): ``(row label, path)``, or
            ``(row label, [path, ...])`` for a row evaluated in several
            runs (:func:`merged_results`).
        baseline_label (str): The label of the baseline row.

    Returns:
        list[tuple[str, dict]]: ``(row label, result dict)``.
    """
    rows = [
        (label,
         merged_results([paths] if isinstance(paths, str) else list(paths)))
        for label, paths in results_files
    ]
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
