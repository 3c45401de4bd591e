# Copyright (c) mmamr contributors. All rights reserved.
"""RobustnessMetric on hand-made predictions."""
import json

import pytest
import torch
from mmaction.evaluation import AccMetric

from mmamr.evaluation import RobustnessMetric

K = 6


def sample(label, clean, adv):
    """A data sample dict as RobustTestLoop hands it to the evaluator."""
    return dict(
        gt_label=torch.tensor([label]),
        pred_score=torch.as_tensor(clean, dtype=torch.float32),
        adv_pred_scores={
            k: torch.as_tensor(v, dtype=torch.float32)
            for k, v in adv.items()
        })


def one_hot(index, value=1.):
    score = torch.zeros(K)
    score[index] = value
    return score


def metric(tmp_path=None, **kwargs):
    m = RobustnessMetric(
        out_dir=None if tmp_path is None else str(tmp_path), **kwargs)
    m.configure(
        dict(A=dict(type='PGD', steps=2), B=dict(type='FGSM')),
        ('rgb', 'both'),
        seed=3,
        modalities=('rgb', 'skeleton'),
        name='model')
    return m


def test_clean_column_equals_mmaction_acc_metric():
    """Random scores with ties (rounded to one decimal), top-1 and -5."""
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(40):
        clean = (torch.rand(K, generator=gen) * 10).round() / 10
        adv = {f'{a}/{t}': clean for a in 'AB' for t in ('rgb', 'both')}
        samples.append(sample(i % K, clean, adv))
    ours = metric(topk=(1, 5))
    ours.process({}, samples)
    acc = AccMetric(metric_list=('top_k_accuracy', ), metric_options=dict(
        top_k_accuracy=dict(topk=(1, 5))))
    acc.process({}, samples)
    ours_out = ours.compute_metrics(ours.results)
    acc_out = acc.compute_metrics(acc.results)
    assert ours_out['clean/top1'] == pytest.approx(100 * acc_out['top1'])
    assert ours_out['clean/top5'] == pytest.approx(100 * acc_out['top5'])
    assert 0 < ours_out['clean/top1'] < 100


def test_columns_avg_and_per_sample_worst_case(tmp_path):
    """Attack A breaks sample 0, B breaks sample 1 (target rgb): each
    column is 50% but the worst case is 0%."""
    right, wrong = one_hot(0), one_hot(1)
    samples = [
        sample(0, right, {
            'A/rgb': wrong,
            'B/rgb': right,
            'A/both': wrong,
            'B/both': wrong
        }),
        sample(0, right, {
            'A/rgb': right,
            'B/rgb': wrong,
            'A/both': right,
            'B/both': wrong
        }),
    ]
    m = metric(tmp_path, topk=(1, ))
    m.process({}, samples)
    out = m.compute_metrics(m.results)
    assert out == {
        'clean/top1': 100.,
        'A/rgb/top1': 50.,
        'A/both/top1': 50.,
        'A/avg/top1': 50.,
        'B/rgb/top1': 50.,
        'B/both/top1': 0.,
        'B/avg/top1': 25.,
        'worst-case/rgb/top1': 0.,
        'worst-case/both/top1': 0.,
        'worst-case/avg/top1': 0.,
    }
    results = json.loads((tmp_path / 'robustness.json').read_text())
    assert results['seed'] == 3 and results['name'] == 'model'
    assert results['attacks']['worst-case']['config'] == dict(
        attacks=['A', 'B'])
    assert results['attacks']['A']['avg_columns'] == ['rgb', 'both']
    md = (tmp_path / 'robustness.md').read_text()
    assert '| model | 100.00 | 50.00 | – | 50.00 | 50.00 | – |' in md
    # Without worst_case, only the configured attacks.
    m = metric(tmp_path, topk=(1, ), worst_case=False)
    m.process({}, samples)
    assert 'worst-case/rgb/top1' not in m.compute_metrics(m.results)


def test_baseline_gives_ri_and_warns_about_missing_attacks(tmp_path):
    right, wrong = one_hot(0), one_hot(1)
    adv = {'A/rgb': wrong, 'A/both': wrong, 'B/rgb': right, 'B/both': right}
    base_dir = tmp_path / 'none'
    m = metric(base_dir, topk=(1, ), worst_case=False, name='None')
    m.process({}, [sample(0, right, adv), sample(0, wrong, adv)])
    m.compute_metrics(m.results)
    # The baseline knows only attack A.
    base = json.loads((base_dir / 'robustness.json').read_text())
    del base['attacks']['B']
    (base_dir / 'robustness.json').write_text(json.dumps(base))

    m = metric(
        tmp_path / 'model',
        topk=(1, ),
        worst_case=False,
        baseline=str(base_dir / 'robustness.json'))
    m.process({}, [sample(0, right, {**adv, 'A/rgb': right})] * 2)
    out = m.compute_metrics(m.results)
    # (100 + mean(100, 0)) - (50 + mean(0, 0)) = 100.
    assert out['A/ri/top1'] == 100.
    assert 'B/ri/top1' not in out
    md = (tmp_path / 'model' / 'robustness.md').read_text()
    # The baseline's row first, with RI 0 against itself.
    assert ('| None | 50.00 | 0.00 | – | 0.00 | 0.00 | 0.00 |\n'
            '| model | 100.00 | 100.00 | – | 0.00 | 50.00 | 100.00 |') in md
    assert ('| None | 50.00 | – | – | – | – | – |\n'
            '| model | 100.00 | 100.00 | – | 100.00 | 100.00 | – |') in md


def test_errors():
    with pytest.raises(KeyError, match='RobustTestLoop'):
        metric().process({}, [dict(gt_label=torch.tensor([0]),
                                   pred_score=one_hot(0))])
    with pytest.raises(ValueError, match='one label per sample'):
        metric().process({}, [sample([0, 1], one_hot(0), {})])
    with pytest.raises(ValueError, match='positive ints'):
        RobustnessMetric(topk=(0, ))
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        RobustnessMetric(baseline='nowhere.json')
