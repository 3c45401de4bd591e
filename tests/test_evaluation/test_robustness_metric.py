# Copyright (c) mmamr contributors. All rights reserved.
"""RobustnessMetric on hand-made predictions."""
import pytest
import torch
from mmaction.evaluation import AccMetric

from mmamr.evaluation import (RobustnessMetric, dump_results, load_results,
                              markdown_report)

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


def metric(**kwargs):
    return RobustnessMetric(**kwargs)


def named(summary, name):
    """The metric's result with the row name the test loop gives it."""
    return dict(summary, name=name)


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
    acc = AccMetric(
        metric_list=('top_k_accuracy', ),
        metric_options=dict(top_k_accuracy=dict(topk=(1, 5))))
    acc.process({}, samples)
    ours_out = ours.compute_metrics(ours.results)
    acc_out = acc.compute_metrics(acc.results)
    assert ours_out['clean/top1'] == pytest.approx(100 * acc_out['top1'])
    assert ours_out['clean/top5'] == pytest.approx(100 * acc_out['top5'])
    assert 0 < ours_out['clean/top1'] < 100


def test_columns_avg_and_per_sample_worst_case():
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
    m = metric(topk=(1, ))
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
    # The same numbers, structured as robustness.json; what only the run
    # knows (name, seed, modalities, the attacks' configs) is left to the
    # test loop.
    results = m.summary
    assert results['num_samples'] == 2 and results['topk'] == [1]
    assert results['name'] is None and results['seed'] is None
    assert list(results['attacks']) == ['A', 'B', 'worst-case']
    assert results['attacks']['A']['config'] == {}
    assert results['attacks']['worst-case']['config'] == dict(
        attacks=['A', 'B'])
    assert results['attacks']['A']['avg_columns'] == ['rgb', 'both']
    md = markdown_report(named(results, 'model'))
    assert '| model | 100.00 | 50.00 | – | 50.00 | 50.00 | – |' in md
    # Without worst_case, only the configured attacks.
    m = metric(topk=(1, ), worst_case=False)
    m.process({}, samples)
    assert 'worst-case/rgb/top1' not in m.compute_metrics(m.results)


def test_baseline_gives_ri_and_warns_about_missing_attacks(tmp_path):
    right, wrong = one_hot(0), one_hot(1)
    adv = {'A/rgb': wrong, 'A/both': wrong, 'B/rgb': right, 'B/both': right}
    base_file = tmp_path / 'none' / 'robustness.json'
    m = metric(topk=(1, ), worst_case=False)
    m.process({}, [sample(0, right, adv), sample(0, wrong, adv)])
    m.compute_metrics(m.results)
    # The baseline knows only attack A.
    base = named(m.summary, 'None')
    del base['attacks']['B']
    dump_results(base, str(base_file))

    m = metric(topk=(1, ), worst_case=False, baseline=str(base_file))
    m.process({}, [sample(0, right, {**adv, 'A/rgb': right})] * 2)
    out = m.compute_metrics(m.results)
    # (100 + mean(100, 0)) - (50 + mean(0, 0)) = 100.
    assert out['A/ri/top1'] == 100.
    assert 'B/ri/top1' not in out
    assert m.summary['baseline'] == dict(file=str(base_file), name='None')
    md = markdown_report(
        named(m.summary, 'model'), load_results(str(base_file)))
    # The baseline's row first, with RI 0 against itself.
    assert ('| None | 50.00 | 0.00 | – | 0.00 | 0.00 | 0.00 |\n'
            '| model | 100.00 | 100.00 | – | 0.00 | 50.00 | 100.00 |') in md
    assert ('| None | 50.00 | – | – | – | – | – |\n'
            '| model | 100.00 | 100.00 | – | 100.00 | 100.00 | – |') in md


def test_attacks_and_targets_come_from_the_predictions():
    right, wrong = one_hot(0), one_hot(1)
    m = metric(topk=(1, ))
    m.process({}, [
        sample(
            0, right, {
                'PGD20@eps=4/skeleton': wrong,
                'PGD20@eps=4/both': right,
                'FGSM/skeleton': right,
                'FGSM/both': right
            })
    ])
    out = m.compute_metrics(m.results)
    assert list(m.summary['attacks']) == ['PGD20@eps=4', 'FGSM', 'worst-case']
    for entry in m.summary['attacks'].values():
        assert entry['avg_columns'] == ['skeleton', 'both']
    assert out['PGD20@eps=4/avg/top1'] == 50.
    assert out['worst-case/skeleton/top1'] == 0.
    # Every sample must hold the same attacks and targets.
    m.process({}, [sample(0, right, {'FGSM/both': right})] * 2)
    with pytest.raises(ValueError, match='disagree'):
        m.compute_metrics(m.results)
    m = metric()
    m.process({}, [sample(0, right, {'FGSM/rgbs': right})])
    with pytest.raises(ValueError, match="'<attack>/<target>'"):
        m.compute_metrics(m.results)


def test_errors():
    with pytest.raises(KeyError, match='RobustTestLoop'):
        metric().process(
            {}, [dict(gt_label=torch.tensor([0]), pred_score=one_hot(0))])
    with pytest.raises(ValueError, match='one label per sample'):
        metric().process({}, [sample([0, 1], one_hot(0), {})])
    with pytest.raises(ValueError, match='positive ints'):
        RobustnessMetric(topk=(0, ))
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        RobustnessMetric(baseline='nowhere.json')
    # The test loop writes the files: their place and row name are its.
    with pytest.raises(TypeError, match='RobustTestLoop'):
        RobustnessMetric(out_dir='work_dirs/x')
    with pytest.raises(TypeError, match='RobustTestLoop'):
        RobustnessMetric(name='model')
