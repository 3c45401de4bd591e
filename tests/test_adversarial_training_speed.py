# Copyright (c) mmamr contributors. All rights reserved.
"""Smoke test of ``benchmarks/adversarial_training_speed.py``.

Not a benchmark: tiny settings, only that the script runs end to end,
checks its two PGDs against each other and reports every figure.
"""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location(
        'adversarial_training_speed',
        ROOT / 'benchmarks' / 'adversarial_training_speed.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_ratios_and_memory(tmp_path, capsys):
    bench = load_script()
    out = tmp_path / 'out.json'
    res = bench.main([
        '--batch-size', '2', '--steps', '1', '--rounds', '2', '--warmup',
        '0', '--threads', '1', '--json',
        str(out)
    ])
    assert res['same_adv'] is True
    assert res['pgd_steps'] == 1 and res['batch_size'] == 2
    for variant in bench.VARIANTS:
        times = res['times'][variant]
        assert len(times['runs']) == 2
        assert 0 < times['min_s'] <= times['median_s'] <= times['max_s']
        memory = res['memory'][variant]
        assert memory['peak_mib'] >= memory['base_mib'] > 0
    assert res['ratio'] == (res['times']['amr']['median_s'] /
                            res['times']['standard']['median_s'])
    # StagedC3D's stem: 3x3x3 kernels on the 3 colour channels.
    assert res['stem_conv']['weight_shape'][1:] == [3, 3, 3, 3]
    assert res['stem_conv']['input_grad_s'] > 0
    assert res['verdict'].startswith('VERDICT: a PGD-1 AMR training')
    printed = capsys.readouterr().out
    assert '| amr |' in printed and '| naive |' in printed
    assert json.loads(out.read_text())['verdict'] == res['verdict']
