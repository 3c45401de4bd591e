# Copyright (c) mmamr contributors. All rights reserved.
"""Smoke test of ``benchmarks/attack_speed.py``: tiny settings, only that
it runs end to end and reports every figure (the numbers themselves are
machine-dependent)."""
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location(
        'attack_speed', ROOT / 'benchmarks' / 'attack_speed.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_attack_speed_reports_every_ratio(tmp_path, capsys):
    bench = load_script()
    out = tmp_path / 'out.json'
    res = bench.main([
        '--batch', '2', '--steps', '2', '--step-steps', '1', '--repeats',
        '1', '--warmup', '0', '--threads', '1', '--profile',
        '--first-conv', '--json',
        str(out)
    ])
    assert res['batch'] == 2 and res['machine']['torch_threads'] == 1
    for name in ('train_step', 'pgd_both', 'pgd_skeleton_fast',
                 'pgd_skeleton_naive', 'pgd_rgb_fast', 'pgd_rgb_naive',
                 'rgb_branch_input_grad', 'skeleton_branch_param_grad'):
        assert res['times'][name]['median_s'] > 0
    assert set(res['ratios']) == {
        'step_over_train', 'skeleton_fast_over_naive', 'rgb_fast_over_naive',
        'rgb_input_over_param_grad', 'skeleton_input_over_param_grad',
        'skeleton_over_rgb_branch'
    }
    assert all(v > 0 for v in res['ratios'].values())
    assert set(res['targets_met']) == {'step_over_train',
                                       'skeleton_fast_over_naive'}
    assert set(res['profile']) == {'training step', 'PGD step (✗RS)'}
    for ops in res['profile'].values():
        assert ops['by_op'] and ops['by_shape']
        assert all(0 < o['share'] <= 1 for o in ops['by_op'])
    conv = res['first_conv']
    assert conv['weight_shape'][1] == 3 and conv['forward_s'] > 0
    printed = capsys.readouterr().out
    assert '(a) PGD step (✗RS) / training step' in printed
    assert '(b) ✗S PGD-2 fast / naive' in printed
    assert "RGB branch's first conv alone" in printed
    assert json.loads(out.read_text())['ratios'] == res['ratios']
