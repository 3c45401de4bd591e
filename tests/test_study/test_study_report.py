# Copyright (c) mmamr contributors. All rights reserved.
"""The study's tables: RI of every row against the baseline row."""
import pytest

from mmamr.evaluation.robustness import dump_results, summarize
from mmamr.study import markdown_tables, summary_numbers, table_rows


def write(tmp_path, name, clean, cols, reliance=None):
    # One attack, columns ✗R, ✗S, ✗RS in %; −R, −S.
    results = summarize(
        name,
        clean=dict(top1=clean),
        columns=dict(PGD20={
            t: dict(top1=v)
            for t, v in zip(('rgb', 'skeleton', 'both'), cols)
        }),
        configs=dict(PGD20=dict(type='PGD', steps=20)),
        num_samples=100,
        topk=[1],
        reliance=None if reliance is None else {
            m: dict(top1=v)
            for m, v in zip(('rgb', 'skeleton'), reliance)
        })
    path = tmp_path / f'{name}.json'
    dump_results(results, str(path))
    return str(path)


def test_table2_ri_against_the_baseline_row(tmp_path):
    # The paper's Table 2, NTU, PGD20: None and AMR.
    files = [('None', write(tmp_path, 'none', 88.09, (6.39, 7.66, 0.02))),
             ('AMR', write(tmp_path, 'amr', 81.65, (68.54, 80.40, 66.52)))]
    rows = table_rows(files, 'None')
    numbers = summary_numbers(rows)
    assert numbers['None']['PGD20']['ri'] == pytest.approx(0)
    assert numbers['AMR']['PGD20']['avg'] == pytest.approx(71.82, abs=0.01)
    assert numbers['AMR']['PGD20']['ri'] == pytest.approx(60.69, abs=0.01)
    table = markdown_tables(rows, 'None')
    assert '| AMR | 81.65 | 68.54 | 80.40 | 66.52 | 71.82 | 60.69 |' in table


def test_unknown_baseline_row(tmp_path):
    files = [('AMR', write(tmp_path, 'amr', 80, (1, 2, 3)))]
    with pytest.raises(ValueError, match="Baseline row 'None'"):
        table_rows(files, 'None')


def test_summary_and_tables_carry_reliance(tmp_path):
    files = [
        ('None', write(tmp_path, 'none', 88., (2., 11., 0.))),
        ('AMR',
         write(tmp_path, 'amr', 81., (68., 80., 66.), reliance=(30.5, 42.25)))
    ]
    rows = table_rows(files, 'None')
    numbers = summary_numbers(rows)
    # An older result file (no diagnostic) reads as null.
    assert numbers['None']['reliance'] is None
    assert numbers['AMR']['reliance'] == dict(rgb=30.5, skeleton=42.25)
    cells = set(numbers['AMR']['PGD20'])
    assert cells == {'rgb', 'skeleton', 'both', 'avg', 'ri'}
    table = markdown_tables(rows, 'None')
    assert '| ✓RS | ✗R | ✗S | ✗RS | Avg | RI | −R | −S |' in table
    assert '| 0.00 | – | – |' in table
    assert table.count('| 30.50 | 42.25 |') == 1
