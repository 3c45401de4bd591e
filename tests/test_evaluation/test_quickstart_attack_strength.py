# Copyright (c) mmamr contributors. All rights reserved.
"""The parameter-free attacks on the quickstart's models, as measured.

``docs/results/autoattack_seed0_<row>.json`` are the quickstart's None
and AMR rows (seed 0) and the suite's other rows on the same data,
evaluated with the study's attacks and with
``--autoattack`` (APGD-CE alone, then AutoAttack; APGD-T and Square alone
too on the quickstart's models, PARTS_RUN), merged per row by
``tools/analysis/attack_strength.py`` (commands in docs/results.md,
"AutoAttack and the sanity checks on the quickstart's models").
What a reviewer checks before believing the AutoAttack column: APGD-CE is
at least as strong as PGD-20 on every target, and AutoAttack is at least
as strong as each of its parts, sample by sample.
"""
import json
import os.path as osp

import pytest

from mmamr.evaluation import load_results
from mmamr.evaluation.per_sample import (autoattack_parts, hits,
                                         not_weaker_violations)
from mmamr.evaluation.robustness import COLUMNS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROWS = ('none', 'at_rgb', 'at_skeleton', 'at_both', 'minsim', 'exfmem',
        'minsim_exfmem', 'amr')

# AutoAttack's parts run alone beyond APGD-CE (`tools/test.py --attack
# apgd-t` / `square`).
PARTS_RUN = {
    'none': ['APGD-CE100', 'APGD-T100', 'Square5000'],
    'amr': ['APGD-CE100', 'APGD-T100', 'Square5000'],
}


def measured(row):
    return load_results(
        osp.join(ROOT, 'docs', 'results', f'autoattack_seed0_{row}.json'))


# Measured exception, kept visible rather than loosened: on AMR's ✗R,
# APGD-CE (100 iterations) leaves one clip more correct than PGD-20
# (59.5 against 59.0 of 200 clips); AutoAttack there is 57.5. Why: the
# traces below (test_the_apgd_ce_exception_is_its_loss).
APGD_CE_WEAKER = {('amr', 'rgb')}
EXCEPTION_CLIP = 'S001C002P006R001A004'


def traced(name):
    """``runs`` of the exception clip in a tools/analysis/attack_trace.py
    file of docs/results (15 or 5 attack seeds, seed 0 the evaluation's)."""
    with open(osp.join(ROOT, 'docs', 'results', name)) as f:
        return json.load(f)['clips'][EXCEPTION_CLIP]['runs']


@pytest.mark.parametrize('row, target', [
    pytest.param(
        row,
        target,
        marks=pytest.mark.xfail(
            strict=True,
            reason='measured: APGD-CE100 59.5 > PGD-20 59.0 on AMR ✗R '
            '(docs/results.md)')) if (row, target) in APGD_CE_WEAKER else
    (row, target) for row in ROWS for target in COLUMNS
])
def test_apgd_ce_is_at_least_as_strong_as_pgd20(row, target):
    attacks = measured(row)['attacks']
    apgd = attacks['APGD-CE100']['columns'][target]['top1']
    assert apgd <= attacks['PGD20']['columns'][target]['top1']


@pytest.mark.parametrize('row', ROWS)
def test_autoattack_is_at_least_as_strong_as_the_papers_attacks(row):
    """Below PGD-20 and below the per-sample worst case of FGSM, PGD-20
    and CW-30, on every target."""
    attacks = measured(row)['attacks']
    for target in COLUMNS:
        aa = attacks['AutoAttack']['columns'][target]['top1']
        for other in ('PGD20', 'worst-case'):
            assert aa <= attacks[other]['columns'][target]['top1'], (target,
                                                                     other)


@pytest.mark.parametrize('row', ROWS)
def test_autoattack_is_at_least_as_strong_as_each_part(row):
    results = measured(row)
    parts = autoattack_parts(results)
    # Run alone: APGD-CE on every row; APGD-T and Square too on the
    # quickstart's models.
    assert parts == PARTS_RUN.get(row, ['APGD-CE100'])
    for part in parts:
        assert not_weaker_violations(results, 'AutoAttack', part) == {
            t: []
            for t in COLUMNS
        }, part


@pytest.mark.parametrize('row', sorted(PARTS_RUN))
def test_apgd_t_alone_is_autoattack_on_the_quickstart_models(row):
    """Measured (docs/results.md): APGD-T fools every clip APGD-CE fools,
    and nothing is left for the Square stage."""
    results = measured(row)
    for target in COLUMNS:
        apgd_t = hits(results, 'APGD-T100', target)
        assert (apgd_t == hits(results, 'AutoAttack', target)).all()
        assert not (apgd_t & ~hits(results, 'APGD-CE100', target)).any()


@pytest.mark.parametrize(
    'row', [row for row in ROWS if 'Square5000' in PARTS_RUN.get(row, [])])
def test_square_alone_finds_no_gradient_masking(row):
    """The score-based attack, which needs no gradient, is weaker than the
    white-box APGD-CE on every target and fools no clip that APGD-T, the
    gradient-based part of AutoAttack, leaves correct."""
    results = measured(row)
    attacks = results['attacks']
    for target in COLUMNS:
        top1 = {
            a: attacks[a]['columns'][target]['top1']
            for a in ('Square5000', 'APGD-CE100')
        }
        assert top1['Square5000'] > top1['APGD-CE100'], (target, top1)
    assert not_weaker_violations(results, 'APGD-T100', 'Square5000') == {
        t: []
        for t in COLUMNS
    }


@pytest.mark.parametrize('row', ROWS)
def test_autoattack_never_counts_a_clean_error_as_robust(row):
    results = measured(row)
    clean = hits(results, 'clean', None)
    assert results['per_sample']['samples'] and len(
        clean) == results['num_samples']
    for target in COLUMNS:
        assert not (hits(results, 'AutoAttack', target) & ~clean).any()
        aa = results['attacks']['AutoAttack']['columns'][target]['top1']
        assert aa == pytest.approx(100 *
                                   hits(results, 'AutoAttack', target).mean())


def test_the_apgd_ce_exception_is_its_loss():
    """On the clip APGD-CE misses, it is the better optimiser of its own
    objective, and the objective is the reason: in every seed APGD-CE
    reaches a higher cross-entropy than PGD-20 without any iterate
    crossing the decision boundary; PGD-20's last iterate lies just across
    it in most seeds, and 20 more steps of the same ascent carry it back
    (PGD-40 fools in no seed: the sanity report's one flag); the margin
    losses (APGD-DLR, APGD-T) fool the clip in every seed."""
    runs = traced('attack_trace_seed0_amr_pgd_apgdce.json')
    pgd, apgd = runs['PGD20/rgb'], runs['APGD-CE100/rgb']
    assert pgd[0]['fooled'] and not apgd[0]['fooled']  # the evaluation's
    for p, a in zip(pgd, apgd):
        assert max(s[0] for s in a['steps']) > max(s[0] for s in p['steps'])
        assert max(s[1] for s in a['steps']) < 0  # never misclassified
    assert sum(r['fooled'] for r in pgd) > len(pgd) / 2
    pgd40 = traced('attack_trace_seed0_amr_pgd40.json')['PGD40/rgb']
    assert not any(r['fooled'] for r in pgd40)
    assert all(any(s[1] > 0 for s in r['steps']) for r in pgd40)
    margins = traced('attack_trace_seed0_amr_apgddlr_apgdt.json')
    assert all(r['fooled'] for name in ('APGD-DLR100/rgb', 'APGD-T100/rgb')
               for r in margins[name])
