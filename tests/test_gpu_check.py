# Copyright (c) mmamr contributors. All rights reserved.
"""``benchmarks/gpu_check.py --tiny --device cpu`` runs end to end, so the
GPU check is known to work before a GPU is at hand.

Not a benchmark: the figures are machine-dependent; what is checked is
that every figure is there, that the derived ones follow from the
measured ones, and the invariants that do not depend on the machine
(FLOP counts, the attack under autocast in fp32, the converted
video size).
"""
import json

import gpu_check
import pytest
import torch

pytestmark = pytest.mark.slow  # about 20 s on a shared 2-core machine

ROWS = ('forward/backward, fp32', 'AMR training iteration, AMP',
        'PGD step / training step', 'AMR iteration / standard iteration',
        '✗S PGD-20 branch-cached / naive',
        'attack under autocast: layers compute in',
        'data loading, 114x64 videos, 0 workers', 'ESTIMATE')


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_check') / 'gpu_check.json'
    threads = torch.get_num_threads()
    try:
        res = gpu_check.main([
            '--tiny', '--device', 'cpu', '--warmup', '0', '--threads', '1',
            '--json',
            str(out)
        ])
    finally:
        torch.set_num_threads(threads)
    return res, out


def test_every_job_is_timed_and_the_ratios_follow(run):
    res, _ = run
    times = res['times']
    assert set(times) == {
        'fwd_bwd_fp32', 'fwd_bwd_amp', 'standard_iter', 'amr_iter',
        'amr_iter_amp', 'pgd_both_steps', 'pgd20_skeleton_cached',
        'pgd20_skeleton_naive'
    }
    assert all(
        len(t['runs']) == 1 and t['median_s'] > 0 for t in times.values())
    ratios = res['ratios']
    assert ratios['amr_over_standard'] == pytest.approx(
        times['amr_iter']['median_s'] / times['standard_iter']['median_s'])
    assert ratios['pgd_step_over_train_step'] == pytest.approx(
        times['pgd_both_steps']['median_s'] / 5 /
        times['fwd_bwd_fp32']['median_s'])
    assert res['batch'] == 2 and res['pgd_steps'] == 10


def test_flop_counts_follow_the_objective(run):
    flops = run[0]['flops_per_clip']
    # An AMR iteration: 10 PGD steps (a forward and an input gradient
    # each) plus the clean and adversarial training passes.
    assert flops['amr_iter'] > flops['standard_iter'] + 10 * flops['forward']
    assert flops['standard_iter'] > 2 * flops['forward'] > 0
    estimate = run[0]['estimate']
    assert estimate['total_pflop'] == pytest.approx(
        flops['amr_iter'] * gpu_check.NTU_XSUB_TRAIN_CLIPS *
        estimate['epochs'] / 1e15)
    assert estimate['hours_on_8_gpus'] > 0


def test_attack_under_autocast_equals_fp32(run):
    # The D8 fix on this device: under bf16 autocast every layer of the
    # attack computes in float32, and no adversarial value changes (the
    # CPU kernels are deterministic: two fp32 calls agree exactly).
    amp = run[0]['attack_under_amp']
    assert amp['dtypes'] == ['float32']
    assert amp['fp32_repeat'] == 0 and amp['amp_vs_fp32'] == 0


def test_autocast_check_sees_an_attack_that_keeps_autocast(monkeypatch):
    # Without D8's fix the same check reports bfloat16 layers.
    import contextlib

    from mmengine.config import Config

    import mmamr.attacks.base as base
    monkeypatch.setattr(base, 'full_precision',
                        lambda inputs: contextlib.nullcontext())
    args = gpu_check.parse_args(['--tiny', '--device', 'cpu'])
    check = gpu_check.Check(Config.fromfile(args.config), args)
    assert 'bfloat16' in check.attack_under_amp()['dtypes']


def test_data_check_loads_converted_videos(run):
    data = run[0]['data']
    # The converter's output at --tiny's short side 64 (1920 x 1080 in).
    assert data['video_shape'] == [64, 114]
    assert data['clips_per_s'] > 0 and data['clips_timed'] == 2
    assert data['loading_over_amr'] == pytest.approx(
        data['clips_per_s'] / data['amr_consumes_clips_per_s'])


def test_report_is_printed_and_written(run, capsys):
    res, out = run
    assert json.loads(out.read_text())['ratios'] == pytest.approx(
        res['ratios'])
    text = gpu_check.format_report(res)
    for row in ROWS:
        assert row in text
    assert res['wall_s'] < gpu_check.MAX_WALL_S
