# Copyright (c) mmamr contributors. All rights reserved.
"""The parameter-free attacks on the quickstart's models, as measured.

``docs/results/autoattack_seed0_<row>.json`` are the quickstart's None
and AMR rows (seed 0) evaluated with the study's attacks and with
``--autoattack`` (APGD-CE alone, then AutoAttack), merged per row by
``tools/analysis/attack_strength.py`` (commands in docs/results.md,
"AutoAttack and the sanity checks on the quickstart's models").
What a reviewer checks before believing the AutoAttack column: APGD-CE is
at least as strong as PGD-20 on every target, and AutoAttack is at least
as strong as each of its parts, sample by sample.
"""
import os.path as osp

import pytest

from mmamr.evaluation import load_results
from mmamr.evaluation.per_sample import (autoattack_parts, hits,
                                         not_weaker_violations)
from mmamr.evaluation.robustness import COLUMNS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROWS = ('none', 'amr')


def measured(row):
    return load_results(
        osp.join(ROOT, 'docs', 'results', f'autoattack_seed0_{row}.json'))


# Measured exception, kept visible rather than loosened: on AMR's ✗R,
# APGD-CE (100 iterations) leaves one clip more correct than PGD-20
# (59.5 against 59.0 of 200 clips); AutoAttack there is 57.5.
APGD_CE_WEAKER = {('amr', 'rgb')}


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
    assert 'APGD-CE100' in parts
    for part in parts:
        assert not_weaker_violations(results, 'AutoAttack', part) == {
            t: []
            for t in COLUMNS
        }, part


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
