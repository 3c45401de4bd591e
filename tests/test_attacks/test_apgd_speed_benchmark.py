# Copyright (c) mmamr contributors. All rights reserved.
"""The APGD step figure of ``benchmarks/attack_speed.py``: its arithmetic,
and that a tiny run reports it (the numbers are machine-dependent)."""
import pytest
from test_attack_speed_benchmark import load_script


def times(**medians):
    return {k: dict(median_s=v, min_s=v / 2) for k, v in medians.items()}


def test_an_apgd_step_is_the_marginal_cost_of_its_steps():
    bench = load_script()
    # 10 steps: PGD 1 + 9 × 0.5 s; APGD 2.5 (fixed costs) + 9 × 0.54 s.
    t = times(
        pgd_both=5.5, pgd_both_1=1., apgd_both=2.5 + 9 * 0.54, apgd_both_1=2.5)
    res = bench.apgd_ratios(t, 10)
    assert res['step_ratio'] == pytest.approx(1.08)
    assert res['met'] is True
    assert res['whole_ratio'] == pytest.approx((2.5 + 4.86) / 5.5)
    # With one step there is no marginal cost: the whole attacks.
    assert bench.apgd_ratios(t, 1)['step_ratio'] == pytest.approx(
        (2.5 + 4.86) / 5.5)


def test_a_tiny_run_reports_the_apgd_step(capsys):
    bench = load_script()
    res = bench.main([
        '--batch', '2', '--steps', '1', '--step-steps', '2', '--repeats', '1',
        '--warmup', '0', '--threads', '1'
    ])
    apgd = res['apgd']
    assert apgd['method'] == 'marginal cost of steps 2-2'
    assert apgd['target'] == 1.10 and isinstance(apgd['met'], bool)
    for name in ('apgd_both', 'apgd_both_1', 'pgd_both_1'):
        assert res['times'][name]['median_s'] > 0
    assert '(c) APGD step / PGD step' in capsys.readouterr().out
