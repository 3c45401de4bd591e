# Copyright (c) mmamr contributors. All rights reserved.
"""Smoke test of the benchmark scripts under ``benchmarks/``.

Not a benchmark: tiny settings, only that the script runs end to end and
reports every figure (the numbers themselves are machine-dependent).
"""
import importlib.util
import json
import os
from pathlib import Path

import pytest
import torch
from sample_data import SAMPLE_DATA

ROOT = Path(__file__).resolve().parents[1]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(
        name, ROOT / 'benchmarks' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_data_loading_vs_step_reports_every_field(tmp_path, capsys):
    bench = load_script('data_loading_vs_step')
    out = tmp_path / 'out.json'
    # 2 samples per class (20 clips, all X-Sub training subjects), batch
    # 2, one worker and one thread: seconds, and robust to other load.
    res = bench.main([
        '--data-root',
        str(tmp_path / 'data'), '--num-per-class', '2', '--batch-size', '2',
        '--workers', '1', '--batches', '2', '--warmup', '1', '--threads', '1',
        '--pin', '--json',
        str(out)
    ])
    assert (tmp_path / 'data' / bench.ANN_FILE).is_file()
    assert res['batch_size'] == 2 and res['workers'] == 1
    assert res['machine']['torch_threads'] == 1
    for key in ('loading', 'loading_0_workers', 'step'):
        assert res[key]['s_per_batch'] > 0
        assert res[key]['samples_per_s'] > 0
    assert res['loading']['workers'] == 1
    assert res['loading_0_workers']['workers'] == 0
    train = res['training']
    assert train['s_per_iter'] >= train['data_s_per_iter'] >= 0
    assert 0 <= train['wait_fraction'] <= 1
    pinned = res['training_step_on_own_core']
    assert pinned['s_per_iter'] >= pinned['data_s_per_iter'] >= 0
    assert 'With the step on a core of its own' in res['verdict']
    assert res['ratio'] > 0 and res['ratio_0_workers'] > 0
    assert isinstance(res['bottleneck'], bool)
    assert res['verdict'].startswith('VERDICT: data loading ')

    printed = capsys.readouterr().out
    assert '| data loading alone | 1 |' in printed
    assert '| training step alone' in printed
    assert '| training with the loader' in printed
    assert '| the same, step on a core of its own | 1 |' in printed
    assert 'with 1 threads' in printed
    assert res['verdict'] in printed
    assert json.loads(out.read_text())['verdict'] == res['verdict']


_WORKER_INIT = []


def _record_worker_init(worker_id: int) -> None:
    _WORKER_INIT.append(worker_id)


class _Affinity(torch.utils.data.Dataset):
    """Each item: the cores the loading process may run on, and whether
    the loader's own ``worker_init_fn`` ran there."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return sorted(os.sched_getaffinity(0)), list(_WORKER_INIT)


def test_step_on_own_core_separates_step_and_workers():
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        pytest.skip('needs 2 usable cores')
    bench = load_script('data_loading_vs_step')
    loader = torch.utils.data.DataLoader(
        _Affinity(),
        num_workers=1,
        batch_size=None,
        worker_init_fn=_record_worker_init)
    with bench.step_on_own_core(loader):
        assert sorted(os.sched_getaffinity(0)) == cores[:1]
        items = list(loader)
    assert sorted(os.sched_getaffinity(0)) == cores
    assert len(items) == 4
    for worker_cores, init_ran in items:
        assert worker_cores == cores[1:]
        assert init_ran == [0]  # the loader's init still runs, after


def test_data_conversion_reports_every_figure(tmp_path):
    if not (SAMPLE_DATA / 'ntu').is_dir() or not (SAMPLE_DATA /
                                                  'imigue').is_dir():
        pytest.fail(f'sample data not found in {SAMPLE_DATA}')
    bench = load_script('data_conversion')
    out = tmp_path / 'out.json'
    res = bench.main(
        ['--data',
         str(SAMPLE_DATA), '--repeat', '1', '--json',
         str(out)])
    for part in ('ntu', 'ntu_total', 'imigue', 'imigue_total'):
        assert all(value > 0 for value in res[part].values()), part
    assert res['imigue_counts'] == dict(
        clips=18498, clip_frames=1197897, decoded_frames=3008465)
    assert json.loads(out.read_text())['ntu'] == res['ntu']


def test_exfmem_cost_reports_every_figure(tmp_path, capsys):
    bench = load_script('exfmem_cost')
    out = tmp_path / 'out.json'
    res = bench.main([
        '--batch', '2', '--steps', '1', '--num-atoms', '8', '--repeats', '1',
        '--warmup', '0', '--threads', '1', '--json',
        str(out)
    ])
    assert set(res['times']) == {
        'pgd_plain', 'pgd_exfmem', 'pgd_exfmem_2000', 'exfmem_alone'
    }
    assert all(t['median_s'] > 0 for t in res['times'].values())
    assert res['num_atoms'] == 8 and res['batch'] == 2
    # The worst case runs ISTA to its cap: never cheaper than the rule.
    assert res['ratios']['exfmem_2000'] > res['ratios']['exfmem'] > 0
    assert all(1 <= i <= 2000 for i in res['ista_iterations']['pgd_exfmem'])
    printed = capsys.readouterr().out
    assert '| pgd_exfmem_2000 |' in printed and 'PGD step: plain' in printed
    assert json.loads(out.read_text())['ratios'] == res['ratios']
