# Copyright (c) mmamr contributors. All rights reserved.
import json
import os

import pytest

from mmamr.evaluation.eps_sweep import (SWEEP_FORMAT, dump_curves, plot_curves,
                                        sweep_attacks, sweep_curves,
                                        sweep_name)
from mmamr.evaluation.robustness import summarize

PGD = dict(
    type='PGD', name='PGD20', steps=20, alpha=dict(rgb=2 / 255,
                                                   skeleton=2 / 255))
FGSM = dict(type='FGSM', name='FGSM', eps=dict(rgb=8 / 255, skeleton=0.))


def test_sweep_attacks_copy_each_attack_per_eps():
    points = sweep_attacks([PGD, FGSM], [0, 2.5, 8])
    assert [p['name'] for p in points] == [
        'PGD20@eps=0', 'PGD20@eps=2.5', 'PGD20@eps=8', 'FGSM@eps=0',
        'FGSM@eps=2.5', 'FGSM@eps=8'
    ]
    assert points[1]['eps'] == dict(rgb=2.5 / 255, skeleton=2.5 / 255)
    # Everything else is kept, and the inputs are not modified.
    assert points[1]['alpha'] == PGD['alpha'] and points[1]['steps'] == 20
    assert FGSM['eps'] == dict(rgb=8 / 255, skeleton=0.)
    with pytest.raises(ValueError, match='>= 0'):
        sweep_attacks([PGD], [-1])
    with pytest.raises(ValueError, match='at least one'):
        sweep_attacks([PGD], [])


def sweep_results(eps_values, targets=('rgb', 'skeleton', 'both')):
    """Accuracy 90 - 10 * eps per target (offset by target)."""
    columns, configs = {}, {}
    for attack in ('PGD20', 'FGSM'):
        for eps in eps_values:
            name = sweep_name(attack, eps)
            columns[name] = {
                t: dict(top1=90. - 10 * eps - i, top5=99. - eps)
                for i, t in enumerate(targets)
            }
            configs[name] = dict(type=attack)
    return summarize('tiny', dict(top1=90., top5=99.), columns, configs,
                     10, (1, 5))


def test_curves_follow_the_results(tmp_path):
    eps = [0, 2, 4]
    curves = sweep_curves(sweep_results(eps), ['PGD20', 'FGSM'], eps)
    assert curves['format'] == SWEEP_FORMAT
    assert curves['eps_unit'] == '1/255'
    assert curves['clean'] == dict(top1=90., top5=99.)
    pgd = curves['curves']['PGD20']
    assert pgd['eps'] == [0., 2., 4.]
    assert pgd['rgb']['top1'] == [90., 70., 50.]
    assert pgd['both']['top1'] == [88., 68., 48.]
    assert pgd['skeleton']['top5'] == [99., 97., 95.]
    with pytest.raises(KeyError, match='CW30@eps=0'):
        sweep_curves(sweep_results(eps), ['CW30'], eps)
    # A unimodal sweep has only its own column.
    uni = sweep_curves(sweep_results(eps, ('rgb', )), ['FGSM'], eps)
    assert set(uni['curves']['FGSM']) == {'eps', 'rgb'}

    dump_curves(curves, str(tmp_path / 'eps_sweep.json'))
    assert json.loads((tmp_path / 'eps_sweep.json').read_text()) == curves
    plot_curves(curves, str(tmp_path / 'eps_sweep.png'))
    with open(tmp_path / 'eps_sweep.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    # No temporary files left behind.
    assert sorted(os.listdir(tmp_path)) == ['eps_sweep.json', 'eps_sweep.png']
