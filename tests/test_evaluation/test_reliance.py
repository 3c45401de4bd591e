# Copyright (c) mmamr contributors. All rights reserved.
"""The modality-reliance columns (−R, −S) in RobustnessMetric, the
result file and its tables, on hand-made predictions. The loop that
measures them: tests/test_engine/test_reliance_loop.py."""
import json

import pytest
import torch

from mmamr.evaluation import (RobustnessMetric, dump_results, load_results,
                              markdown_report, markdown_table, summarize)

K = 4


def one_hot(index):
    score = torch.zeros(K)
    score[index] = 1.
    return score


def sample(label, clean, adv, ablated=None):
    """A data sample dict as RobustTestLoop hands it to the evaluator."""
    data = dict(
        gt_label=torch.tensor([label]),
        pred_score=one_hot(clean),
        adv_pred_scores={
            k: one_hot(v)
            for k, v in adv.items()
        })
    if ablated is not None:
        data['ablated_pred_scores'] = {
            m: one_hot(v)
            for m, v in ablated.items()
        }
    return data


def computed(samples, **kwargs):
    metric = RobustnessMetric(topk=(1, ), **kwargs)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results), metric.summary


def test_metric_reports_reliance_per_modality_replaced():
    """4 clips, all right when clean; without RGB 1 of 4 stays right
    (the model needs RGB), without the skeleton all 4 (it ignores it)."""
    samples = [
        sample(i, i, {'PGD20/rgb': i}, dict(rgb=0, skeleton=i))
        for i in range(K)
    ]
    flat, summary = computed(samples)
    assert flat['clean/top1'] == 100.
    assert flat['reliance/rgb/top1'] == 25.
    assert flat['reliance/skeleton/top1'] == 100.
    assert summary['reliance'] == dict(
        rgb=dict(top1=25.), skeleton=dict(top1=100.))
    assert list(summary['reliance']) == ['rgb', 'skeleton']
    # The attacks' numbers are untouched by it.
    assert flat['PGD20/rgb/top1'] == 100.
    assert summary['attacks']['PGD20']['avg'] == dict(top1=100.)


def test_predictions_without_ablations_give_no_reliance():
    samples = [sample(i, i, {'PGD20/rgb': 0}) for i in range(K)]
    flat, summary = computed(samples)
    assert summary['reliance'] is None
    assert not [k for k in flat if k.startswith('reliance/')]
    assert flat['PGD20/rgb/top1'] == 25.


def test_inconsistent_or_unknown_ablations_are_errors():
    mixed = [
        sample(0, 0, {'A/rgb': 0}, dict(rgb=0, skeleton=0)),
        sample(1, 1, {'A/rgb': 1}),
    ]
    with pytest.raises(ValueError, match='disagree on the modalities'):
        computed(mixed)
    with pytest.raises(ValueError, match="keys \\['depth'\\]"):
        computed([sample(0, 0, {'A/rgb': 0}, dict(depth=0))])


def results(name, clean, cols, reliance=None):
    return summarize(
        name,
        dict(top1=clean),
        dict(PGD20={
            t: dict(top1=v)
            for t, v in zip(('rgb', 'skeleton', 'both'), cols)
        }),
        dict(PGD20=dict(type='PGD', steps=20)),
        num_samples=100,
        topk=[1],
        reliance=reliance)


def test_json_round_trip_and_older_files(tmp_path):
    new = results('new', 90., (10., 20., 5.),
                  dict(rgb=dict(top1=40.), skeleton=dict(top1=60.)))
    dump_results(new, str(tmp_path / 'new.json'))
    loaded = load_results(str(tmp_path / 'new.json'))
    assert loaded['reliance'] == dict(
        rgb=dict(top1=40.), skeleton=dict(top1=60.))
    assert results('none', 90., (1., 2., 3.))['reliance'] is None
    # A file written before the diagnostic: no "reliance" key at all.
    old = json.loads(json.dumps(new))
    del old['reliance']
    (tmp_path / 'old.json').write_text(json.dumps(old))
    assert 'reliance' not in load_results(str(tmp_path / 'old.json'))
    for bad, message in ((dict(depth=dict(top1=1.)), 'unknown modalities'),
                         ([1, 2], 'must be null or a dict')):
        (tmp_path / 'bad.json').write_text(json.dumps(dict(old, reliance=bad)))
        with pytest.raises(ValueError, match=message):
            load_results(str(tmp_path / 'bad.json'))
    with pytest.raises(ValueError, match='Unknown reliance keys'):
        results('x', 90., (1., 2., 3.), dict(both=dict(top1=1.)))


def test_markdown_columns_follow_the_papers():
    new = results('new', 90., (10., 20., 5.),
                  dict(rgb=dict(top1=40.), skeleton=dict(top1=60.)))
    old = results('old', 80., (1., 2., 3.))
    del old['reliance']
    table = markdown_table([('Old', old), ('New', new)], 'PGD20')
    lines = table.split('\n')
    assert lines[0] == '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI | −R | −S |'
    # RI: no baseline here.
    assert lines[2] == ('| Old | 80.00 | 1.00 | 2.00 | 3.00 | 2.00 | – | '
                        '– | – |')
    assert lines[3] == ('| New | 90.00 | 10.00 | 20.00 | 5.00 | 11.67 | – | '
                        '40.00 | 60.00 |')
    # Only older files (or unimodal models): the table as it always was.
    plain = markdown_table([('Old', old)], 'PGD20').split('\n')
    assert plain[0] == '| Model | ✓RS | ✗R | ✗S | ✗RS | Avg | RI |'
    assert plain[2] == '| Old | 80.00 | 1.00 | 2.00 | 3.00 | 2.00 | – |'
    # markdown_report: the baseline without them, this run with them.
    report = markdown_report(new, old)
    assert '| old | 80.00 | 1.00 | 2.00 | 3.00 | 2.00 | 0.00 | – | – |' in (
        report)
    assert '| 40.00 | 60.00 |' in report
    assert '−R ≈ ✓RS: RGB is ignored' in report
    assert '−R' not in markdown_report(old)
