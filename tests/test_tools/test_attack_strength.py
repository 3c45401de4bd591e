# Copyright (c) mmamr contributors. All rights reserved.
"""tools/analysis/attack_strength.py: per-sample strength checks of
AutoAttack and APGD-CE over a model's result files."""
import json

import torch
from conftest import run_tool

from mmamr.evaluation import RobustnessMetric, dump_results

TOOL = 'tools/analysis/attack_strength.py'


def result_file(path, labels, clean, adv):
    """A robustness.json from per-sample predictions: ``adv`` maps
    ``'<attack>/<target>'`` to the predicted class of each sample."""
    metric = RobustnessMetric(topk=(1, ))
    samples = []
    for i, label in enumerate(labels):
        samples.append(
            dict(
                frame_dir=f'clip{i}',
                gt_label=torch.tensor([label]),
                pred_score=torch.eye(3)[clean[i]],
                adv_pred_scores={
                    k: torch.eye(3)[v[i]]
                    for k, v in adv.items()
                }))
    metric.process({}, samples)
    metric.compute_metrics(metric.results)
    dump_results(dict(metric.summary, name='m'), str(path))
    return str(path)


def test_sound_attacks_pass_and_merge(tmp_path):
    labels = [0, 1, 2, 0]
    clean = [0, 1, 2, 1]
    main = result_file(tmp_path / 'main.json', labels, clean,
                       {'PGD20/both': [0, 1, 0, 1]})
    aa = result_file(tmp_path / 'aa.json', labels, clean, {
        'APGD-CE100/both': [0, 0, 0, 1],
        'AutoAttack/both': [1, 0, 0, 1]
    })
    out = tmp_path / 'merged.json'
    proc = run_tool([TOOL, main, aa, '--out', out])
    assert 'ok: AutoAttack >= APGD-CE100 on ✗RS sample by sample' in (
        proc.stdout)
    assert 'ok: APGD-CE100 25.00 <= PGD20 50.00 on ✗RS' in proc.stdout
    merged = json.loads(out.read_text())
    assert list(merged['attacks']) == ['PGD20', 'APGD-CE100', 'AutoAttack']
    assert merged['per_sample']['attacks']['AutoAttack']['both'] == '0000'


def test_a_weaker_autoattack_or_apgd_fails_with_the_samples(tmp_path):
    labels = [0, 1, 2]
    clean = [0, 1, 2]
    main = result_file(tmp_path / 'main.json', labels, clean,
                       {'PGD20/rgb': [1, 1, 2]})
    # AutoAttack leaves clip0 correct although APGD-CE alone fooled it;
    # APGD-CE ties PGD (a tie passes).
    aa = result_file(tmp_path / 'aa.json', labels, clean, {
        'APGD-CE100/rgb': [1, 1, 2],
        'AutoAttack/rgb': [0, 0, 2]
    })
    proc = run_tool([TOOL, main, aa], check=False)
    assert proc.returncode == 1
    assert ("FAIL: AutoAttack >= APGD-CE100 on ✗R sample by sample "
            "(violated by ['clip0'])") in proc.stdout
    stronger_pgd = result_file(tmp_path / 'pgd.json', labels, clean,
                               {'PGD20/rgb': [1, 0, 0]})
    proc = run_tool([TOOL, stronger_pgd, aa], check=False)
    assert 'FAIL: APGD-CE100 66.67 <= PGD20 0.00 on ✗R' in proc.stdout
    nothing = run_tool([TOOL, main], check=False)
    assert nothing.returncode == 1 and 'Nothing to check' in nothing.stderr
