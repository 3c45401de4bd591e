# Copyright (c) mmamr contributors. All rights reserved.
"""The per-sample record of robustness.json and the sample-by-sample
comparison of two attacks."""
import json

import pytest
import torch

from mmamr.evaluation import RobustnessMetric, dump_results, load_results
from mmamr.evaluation.per_sample import (autoattack_parts, hits,
                                         not_weaker_violations)
from mmamr.study import table_rows

K = 4


def one_hot(index):
    score = torch.zeros(K)
    score[index] = 1.
    return score


def sample(name, label, clean, adv):
    return dict(
        frame_dir=name,
        gt_label=torch.tensor([label]),
        pred_score=one_hot(clean),
        adv_pred_scores={
            k: one_hot(v)
            for k, v in adv.items()
        })


def evaluate(samples, topk=(1, 5)):
    metric = RobustnessMetric(topk=topk)
    metric.process({}, samples)
    metric.compute_metrics(metric.results)
    return dict(metric.summary, name='model')


def test_record_holds_each_samples_top1_hit_in_order():
    samples = [
        sample('a', 0, 0, {
            'P/rgb': 0,
            'P/both': 1
        }),
        sample('b', 1, 1, {
            'P/rgb': 2,
            'P/both': 1
        }),
        sample('c', 2, 3, {
            'P/rgb': 2,
            'P/both': 2
        }),
    ]
    record = evaluate(samples)['per_sample']
    assert record['samples'] == ['a', 'b', 'c']
    assert record['clean'] == '110'
    assert record['attacks'] == {'P': {'rgb': '101', 'both': '011'}}


def test_record_uses_top1_wherever_it_is_in_topk():
    samples = [sample('a', 0, 1, {'P/rgb': 0}), sample('b', 1, 1, {})]
    samples[1]['adv_pred_scores'] = {'P/rgb': one_hot(0)}
    record = evaluate(samples, topk=(5, 1))['per_sample']
    assert record['clean'] == '01'
    assert record['attacks']['P']['rgb'] == '10'
    assert evaluate(samples, topk=(5, ))['per_sample'] is None


def test_record_survives_the_json_file_and_is_checked(tmp_path):
    samples = [sample(str(i), i % K, i % K, {'P/rgb': 0}) for i in range(6)]
    results = evaluate(samples)
    path = tmp_path / 'robustness.json'
    dump_results(results, str(path))
    assert load_results(str(path))['per_sample'] == results['per_sample']
    for broken in ('10', '10201x', 10):
        data = json.loads(path.read_text())
        data['per_sample']['attacks']['P']['rgb'] = broken
        path.write_text(json.dumps(data))
        with pytest.raises(ValueError, match='per_sample P/rgb'):
            load_results(str(path))
    data['per_sample']['attacks']['P'] = {}
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"lacks \['P/rgb'\]"):
        load_results(str(path))


def test_hits_and_violations():
    # Attack S fools a and b; attack W fools b and c: S is not at least
    # as strong as W on c, W not as strong as S on a.
    samples = [
        sample('a', 0, 0, {
            'S/both': 1,
            'W/both': 0
        }),
        sample('b', 0, 0, {
            'S/both': 1,
            'W/both': 1
        }),
        sample('c', 0, 0, {
            'S/both': 0,
            'W/both': 1
        }),
        sample('d', 0, 0, {
            'S/both': 0,
            'W/both': 0
        }),
    ]
    results = evaluate(samples)
    assert hits(results, 'S', 'both').tolist() == [False, False, True, True]
    assert hits(results, 'clean', 'both').all()
    assert not_weaker_violations(results, 'S', 'W') == {'both': ['c']}
    assert not_weaker_violations(results, 'W', 'S') == {'both': ['a']}
    assert not_weaker_violations(results, 'S', 'S') == {'both': []}
    with pytest.raises(KeyError, match='no per-sample hits of X/both'):
        hits(results, 'X', 'both')
    with pytest.raises(KeyError, match='no per_sample record'):
        hits(dict(results, per_sample=None), 'S', 'both')


def test_autoattack_parts_by_name():
    results = dict(
        attacks={
            a: None
            for a in ('PGD20', 'APGD-CE100', 'APGD-DLR100', 'APGD-T100',
                      'Square5000', 'AutoAttack', 'worst-case')
        })
    assert autoattack_parts(results) == [
        'APGD-CE100', 'APGD-T100', 'Square5000'
    ]


def test_a_row_merges_its_autoattack_evaluation(tmp_path):
    """The quickstart's --autoattack: a second robustness.json per row,
    its attacks (and per-sample hits) appended; RI against the baseline
    row's own merged results."""
    paths = dict()
    for name, adv in (('none', 0), ('amr', 1)):
        main = [
            sample(str(i), 1, 1, {
                'PGD20/both': adv,
                'PGD20/rgb': 1
            }) for i in range(4)
        ]
        extra = [
            sample(
                str(i), 1, 1, {
                    'APGD-CE100/both': adv,
                    'AutoAttack/both': adv * (i % 2)
                }) for i in range(4)
        ]
        for stage, samples in (('main', main), ('aa', extra)):
            path = tmp_path / f'{name}_{stage}.json'
            dump_results(evaluate(samples), str(path))
            paths[name, stage] = str(path)
    rows = table_rows([(label, [paths[n, 'main'], paths[n, 'aa']])
                       for label, n in (('None', 'none'), ('AMR', 'amr'))],
                      'None')
    amr = dict(rows)['AMR']
    # The second file's worst-case is over its own attacks only: dropped.
    assert list(amr['attacks']) == ['PGD20', 'APGD-CE100', 'AutoAttack']
    assert amr['attacks']['AutoAttack']['columns']['both']['top1'] == 50.
    # RI = (clean + Avg) - (clean + Avg of None): 50 - 0.
    assert amr['attacks']['AutoAttack']['ri']['top1'] == 50.
    assert amr['per_sample']['attacks']['AutoAttack']['both'] == '0101'
    with pytest.raises(ValueError, match='PGD20 is in both'):
        table_rows([('None', [paths['none', 'main'], paths['none', 'main']])],
                   'None')
    with pytest.raises(ValueError, match='not one model'):
        other = evaluate([sample('0', 1, 0, {'X/both': 0})])
        dump_results(other, str(tmp_path / 'other.json'))
        table_rows(
            [('None', [paths['none', 'main'],
                       str(tmp_path / 'other.json')])], 'None')


def test_a_file_without_record_merges_with_one_that_has_it(tmp_path):
    """A row evaluated before the record existed keeps its numbers; the
    AutoAttack file's per-sample hits come through."""
    main = evaluate([sample('a', 1, 1, {'PGD20/both': 0})])
    main['per_sample'] = None
    extra = evaluate([sample('a', 1, 1, {'AutoAttack/both': 1})])
    paths = [str(tmp_path / 'main.json'), str(tmp_path / 'aa.json')]
    dump_results(main, paths[0])
    dump_results(extra, paths[1])
    (_, row), = table_rows([('None', paths)], 'None')
    assert row['per_sample']['attacks'] == {'AutoAttack': {'both': '1'}}
    assert row['attacks']['PGD20']['columns']['both']['top1'] == 0.
    # Two records must describe the same samples.
    other = evaluate([sample('b', 1, 1, {'APGD-CE100/both': 1})])
    dump_results(other, str(tmp_path / 'other.json'))
    with pytest.raises(ValueError, match='disagree on the samples'):
        table_rows([('None', paths + [str(tmp_path / 'other.json')])], 'None')
