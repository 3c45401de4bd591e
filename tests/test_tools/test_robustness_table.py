# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/analysis/robustness_table.py`` and ``robustness_curve.py`` on
result files written with the real schemas: the paper's Table 2 (NTU,
PGD20) rebuilt from its per-column numbers, and overlaid ε curves."""
import csv
import importlib.util
import json

import pytest
from conftest import ROOT, run_tool

from mmamr.evaluation.eps_sweep import dump_curves, sweep_curves, sweep_name
from mmamr.evaluation.robustness import (add_relative_improvement,
                                         dump_results, summarize)

PNG = b'\x89PNG\r\n\x1a\n'
# Table 2, NTU RGB+D, PGD20: ✓RS, ✗R, ✗S, ✗RS, and the printed Avg, RI.
TABLE2_NTU = {
    'None': (88.09, 2.09, 11.84, 0.15, 4.69, 0),
    'AT with ✗R': (75.59, 75.59, 4.75, 4.74, 28.36, 11.17),
    'AT with ✗S': (78.44, 2.09, 78.31, 2.06, 27.49, 13.15),
    'AT with ✗RS': (61.42, 61.41, 40.41, 40.32, 47.38, 16.02),
    'MinSim': (80.85, 2.93, 80.85, 3.03, 28.85, 16.92),
    'ExFMem': (84.19, 0.00, 60.04, 0.00, 20.01, 11.42),
    'MinSim+ExFMem': (82.81, 2.02, 75.77, 2.14, 26.64, 16.67),
    'AMR': (81.65, 68.54, 80.40, 66.52, 71.82, 60.69),
}
PGD20 = dict(type='PGD', steps=20, eps=dict(rgb=8 / 255, skeleton=8 / 255))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'tools' / 'analysis' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(folder, name, row, extra_attack=True, baseline=None):
    """A work dir with the robustness.json tools/test.py would write."""
    clean, rgb, skeleton, both = row[:4]
    columns = dict(
        PGD20=dict(
            rgb=dict(top1=rgb), skeleton=dict(top1=skeleton),
            both=dict(top1=both)))
    configs = dict(PGD20=PGD20)
    if extra_attack:
        columns['FGSM'] = dict(rgb=dict(top1=50.), both=dict(top1=40.))
        configs['FGSM'] = dict(type='FGSM')
    results = summarize(name, dict(top1=clean), columns, configs, 16487,
                        (1, ))
    if baseline is not None:  # a stale RI the tool must not reuse
        add_relative_improvement(results, baseline)
    folder.mkdir(parents=True, exist_ok=True)
    dump_results(results, str(folder / 'robustness.json'))
    return results


@pytest.fixture
def table2_runs(tmp_path):
    specs = []
    for i, (name, row) in enumerate(TABLE2_NTU.items()):
        folder = tmp_path / f'run{i}'
        write_run(folder, f'config_{i}', row)
        specs.append(f'{name}={folder}')
    return specs


def test_table2_of_the_paper_is_rebuilt(table2_runs, tmp_path):
    tool = load_tool('robustness_table')
    prefix = tmp_path / 'out' / 'table2'
    files = tool.main(table2_runs + ['--attack', 'PGD20', '--out',
                                     str(prefix)])
    assert files == [f'{prefix}.{e}' for e in ('md', 'csv', 'png')]
    with open(f'{prefix}.csv', encoding='utf-8') as f:
        rows = list(csv.reader(f))
    # −R −S last, empty for runs without the reliance diagnostic.
    assert rows[0] == [
        'model', '✓RS', '✗R', '✗S', '✗RS', 'Avg', 'RI', '−R', '−S'
    ]
    assert all(r[7:] == ['', ''] for r in rows[1:])
    assert [r[0] for r in rows[1:]] == list(TABLE2_NTU)
    for cells in rows[1:]:
        paper = TABLE2_NTU[cells[0]]
        values = [float(c) for c in cells[1:7]]
        assert values[:4] == pytest.approx(paper[:4], abs=1e-9)
        if cells[0] == 'MinSim':
            # The paper's own row is inconsistent: the mean of its
            # columns (2.93, 80.85, 3.03) is 28.94, not the printed
            # 28.85, so its RI is 17.00, not 16.92.
            assert values[4:] == pytest.approx([28.9367, 17.0033], abs=1e-4)
            continue
        # Avg and RI recomputed from the columns round as printed (the
        # paper's AT ✗S RI 13.15 used its rounded Avg: 13.14 here).
        assert values[4] == pytest.approx(paper[4], abs=0.006)
        assert values[5] == pytest.approx(paper[5], abs=0.011)
    amr = dict((r[0], r) for r in rows[1:])['AMR']
    assert round(float(amr[6]), 2) == 60.69
    md = (tmp_path / 'out' / 'table2.md').read_text(encoding='utf-8')
    assert '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI |' in md
    assert '| AMR | 81.65 | 68.54 | 80.40 | 66.52 | 71.82 | 60.69 |' in md
    assert '| None | 88.09 | 2.09 | 11.84 | 0.15 | 4.69 | 0.00 |' in md
    assert 'that of None' in md
    with open(f'{prefix}.png', 'rb') as f:
        assert f.read(8) == PNG


def test_ri_follows_the_chosen_baseline_not_the_stored_one(tmp_path):
    tool = load_tool('robustness_table')
    none = write_run(tmp_path / 'none', 'none', TABLE2_NTU['None'])
    write_run(tmp_path / 'amr', 'amr', TABLE2_NTU['AMR'], baseline=none)
    write_run(tmp_path / 'at', 'at', TABLE2_NTU['AT with ✗RS'],
              extra_attack=False)
    prefix = tmp_path / 't'
    tool.main([
        str(tmp_path / 'none'),
        str(tmp_path / 'amr' / 'robustness.json'),
        str(tmp_path / 'at'), '--attack', 'PGD20', '--baseline', 'at',
        '--out', str(prefix)
    ])
    with open(f'{prefix}.csv', encoding='utf-8') as f:
        rows = {r[0]: r for r in csv.reader(f)}
    assert set(rows) == {'model', 'none', 'amr', 'at'}  # the files' names
    at_total = 61.42 + (61.41 + 40.41 + 40.32) / 3
    amr_total = 81.65 + (68.54 + 80.40 + 66.52) / 3
    assert float(rows['at'][6]) == pytest.approx(0, abs=1e-4)
    assert float(rows['amr'][6]) == pytest.approx(
        amr_total - at_total, abs=1e-4)


def test_clear_errors(table2_runs, tmp_path):
    tool = load_tool('robustness_table')
    out = ['--out', str(tmp_path / 'x')]
    with pytest.raises(KeyError, match="has no attack 'CW30'.*FGSM"):
        tool.main(table2_runs + ['--attack', 'CW30'] + out)
    with pytest.raises(ValueError, match="--baseline 'nobody' is not a row"):
        tool.main(table2_runs + ['--attack', 'PGD20', '--baseline',
                                 'nobody'] + out)
    with pytest.raises(ValueError, match='more than once'):
        tool.main([table2_runs[0], table2_runs[0], '--attack', 'PGD20'] +
                  out)
    with pytest.raises(FileNotFoundError, match='no robustness.json'):
        tool.main([str(tmp_path), '--attack', 'PGD20'] + out)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"format": "other"}')
    with pytest.raises(ValueError, match='not an mmamr robustness result'):
        tool.main([str(bad), '--attack', 'PGD20'] + out)
    assert not list(tmp_path.glob('x.*'))  # nothing half-written


def test_command_line(table2_runs, tmp_path):
    proc = run_tool([
        'tools/analysis/robustness_table.py', *table2_runs[:2], '--attack',
        'PGD20', '--out', tmp_path / 'cli'
    ])
    assert '| AT with ✗R | 75.59 |' in proc.stdout + proc.stderr
    assert (tmp_path / 'cli.png').is_file()


def write_sweep(folder, name, clean, slope, attacks=('PGD20', 'FGSM')):
    eps = [0, 4, 8]
    columns = {
        sweep_name(a, e): {
            t: dict(top1=max(clean - slope * e - i, 0.))
            for i, t in enumerate(('rgb', 'skeleton', 'both'))
        }
        for a in attacks for e in eps
    }
    results = summarize(name, dict(top1=clean), columns, {}, 10, (1, ))
    folder.mkdir(parents=True, exist_ok=True)
    dump_curves(
        sweep_curves(results, list(attacks), eps),
        str(folder / 'eps_sweep.json'))


def test_curves_of_several_runs_are_overlaid(tmp_path):
    tool = load_tool('robustness_curve')
    write_sweep(tmp_path / 'none', 'none', 88., 10.)
    write_sweep(tmp_path / 'amr', 'amr', 80., 2., attacks=('PGD20', ))
    prefix = tmp_path / 'fig2'
    files = tool.main([
        f'None={tmp_path / "none"}',
        str(tmp_path / 'amr' / 'eps_sweep.json'), '--targets', 'rgb',
        'both', '--out', str(prefix)
    ])
    assert files == [f'{prefix}.png', f'{prefix}.csv']
    with open(f'{prefix}.png', 'rb') as f:
        assert f.read(8) == PNG
    with open(f'{prefix}.csv', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    # Only the attack both runs swept, only the chosen targets.
    assert {(r['run'], r['attack'], r['target'])
            for r in rows} == {(run, 'PGD20', t)
                               for run in ('None', 'amr')
                               for t in ('rgb', 'both')}
    amr_both = [(r['eps (/255)'], float(r['top1'])) for r in rows
                if r['run'] == 'amr' and r['target'] == 'both']
    assert amr_both == [('0', 78.), ('4', 70.), ('8', 62.)]

    with pytest.raises(KeyError, match="Run 'amr' has no ε sweep of 'FGSM'"):
        tool.main([str(tmp_path / 'none'),
                   str(tmp_path / 'amr'), '--attacks', 'FGSM', '--out',
                   str(prefix)])
    (tmp_path / 'robustness.json').write_text(json.dumps({}))
    with pytest.raises(FileNotFoundError, match='no eps_sweep.json'):
        tool.main([str(tmp_path), '--out', str(prefix)])


def test_earlier_tables_are_replaced_only_with_overwrite(
        table2_runs, tmp_path):
    tool = load_tool('robustness_table')
    prefix = tmp_path / 't'
    args = table2_runs[:2] + ['--attack', 'PGD20', '--out', str(prefix)]
    tool.main(args)
    # One file of the three is enough to refuse, and none is touched.
    for ext in ('md', 'png'):
        (tmp_path / f't.{ext}').unlink()
    (tmp_path / 't.csv').write_text('earlier table')
    with pytest.raises(FileExistsError, match=f'{prefix}.csv.*--overwrite'):
        tool.main(args)
    assert sorted(p.name for p in tmp_path.glob('t.*')) == ['t.csv']
    assert (tmp_path / 't.csv').read_text() == 'earlier table'
    files = tool.main(args + ['--overwrite'])
    assert (tmp_path / 't.csv').read_text().startswith('model,')
    assert all(tmp_path.joinpath(f).is_file() for f in files)


def test_command_line_refuses_earlier_tables(table2_runs, tmp_path):
    (tmp_path / 'cli.md').write_text('earlier table')
    args = [
        'tools/analysis/robustness_table.py', *table2_runs[:2], '--attack',
        'PGD20', '--out', tmp_path / 'cli'
    ]
    proc = run_tool(args, check=False)
    assert proc.returncode != 0
    assert f'{tmp_path / "cli.md"} already exists' in proc.stderr
    assert (tmp_path / 'cli.md').read_text() == 'earlier table'


def test_earlier_curves_are_replaced_only_with_overwrite(tmp_path):
    tool = load_tool('robustness_curve')
    write_sweep(tmp_path / 'none', 'none', 88., 10.)
    prefix = tmp_path / 'fig2'
    args = [str(tmp_path / 'none'), '--out', str(prefix)]
    tool.main(args)
    (tmp_path / 'fig2.csv').unlink()
    (tmp_path / 'fig2.png').write_bytes(b'earlier plot')
    with pytest.raises(FileExistsError, match=f'{prefix}.png.*--overwrite'):
        tool.main(args)
    assert sorted(p.name for p in tmp_path.glob('fig2.*')) == ['fig2.png']
    assert (tmp_path / 'fig2.png').read_bytes() == b'earlier plot'
    tool.main(args + ['--overwrite'])
    with open(f'{prefix}.png', 'rb') as f:
        assert f.read(8) == PNG
    assert (tmp_path / 'fig2.csv').is_file()
