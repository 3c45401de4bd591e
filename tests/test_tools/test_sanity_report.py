# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/test.py --sanity`` and ``--attack apgd-ce ... autoattack``:
flags -> configs, the checks on result files, and (``-m slow``) end to
end on a tiny trained checkpoint."""
import copy
import importlib.util
import json
import sys

import pytest
from conftest import CONFIG, DETERMINISTIC_MODEL, ROOT, data_options, run_tool
from mmengine.config import Config

from mmamr.evaluation.robustness import FORMAT
from mmamr.evaluation.sanity import (markdown_sanity, sanity_attacks,
                                     sanity_checks)
from mmamr.utils.robust_test_args import apply_robust_args

TARGETS = ('rgb', 'skeleton', 'both')


@pytest.fixture(scope='module')
def test_tool():
    spec = importlib.util.spec_from_file_location('mmamr_test_tool_sanity',
                                                  ROOT / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def configure(test_tool, monkeypatch, *flags):
    monkeypatch.setattr(
        sys, 'argv',
        ['test.py', str(CONFIG), 'ckpt.pth', *map(str, flags)])
    args = test_tool.parse_args()
    cfg = Config.fromfile(str(CONFIG))
    post = apply_robust_args(cfg, args)
    return cfg, post


def test_parameter_free_attacks_from_the_command_line(test_tool, monkeypatch):
    cfg, post = configure(test_tool, monkeypatch, '--attack', 'pgd', 'apgd-ce',
                          'apgd-dlr', 'apgd-t', 'square', 'autoattack',
                          '--steps', '7', '--queries', '50', '--eps', '4')
    assert post is None
    eps = dict(rgb=4 / 255, skeleton=4 / 255)
    attacks = {a['name']: a for a in cfg.test_cfg.attacks}
    assert list(attacks) == [
        'PGD7', 'APGD-CE7', 'APGD-DLR7', 'APGD-T7', 'Square50', 'AutoAttack'
    ]
    assert attacks['APGD-CE7'] == dict(
        type='APGD', eps=eps, steps=7, loss='ce', name='APGD-CE7')
    assert attacks['APGD-DLR7']['loss'] == 'dlr'
    assert attacks['APGD-T7'] == dict(
        type='APGDT', eps=eps, steps=7, name='APGD-T7')
    assert attacks['Square50'] == dict(
        type='Square', eps=eps, queries=50, name='Square50')
    assert attacks['AutoAttack'] == dict(
        type='AutoAttack', eps=eps, steps=7, queries=50, name='AutoAttack')


def test_defaults_are_autoattacks(test_tool, monkeypatch):
    cfg, _ = configure(test_tool, monkeypatch, '--attack', 'apgd-ce', 'square')
    names = [a['name'] for a in cfg.test_cfg.attacks]
    assert names == ['APGD-CE100', 'Square5000']


def test_sanity_flags_build_the_battery(test_tool, monkeypatch, tmp_path):
    ckpt = tmp_path / 'none.pth'
    ckpt.write_bytes(b'')
    cfg, post = configure(test_tool, monkeypatch, '--sanity', '--steps', '8',
                          '--queries', '40', '--targets', 'skeleton',
                          '--transfer-from', CONFIG, ckpt)
    plan = post['sanity']
    names = [a['name'] for a in cfg.test_cfg.attacks]
    assert names == [
        'PGD8@eps=0', 'PGD8@eps=2', 'PGD8@eps=4', 'PGD8@eps=8', 'PGD8@eps=16',
        'PGD2@eps=8', 'PGD16@eps=8', 'APGD-CE8@eps=8', 'APGD-CE8@eps=255',
        'Square40@eps=8', 'Transfer-PGD8@eps=8'
    ]
    assert cfg.test_cfg.targets == ['skeleton']
    assert cfg.test_evaluator.worst_case is False
    transfer = cfg.test_cfg.attacks[-1]
    assert transfer['source'] == dict(config=str(CONFIG), checkpoint=str(ckpt))
    assert plan['whitebox'] == ['PGD8@eps=8', 'APGD-CE8@eps=8']
    assert plan['settings']['queries'] == 40


@pytest.mark.parametrize('flags,message', [
    (['--sanity', '--attack', 'pgd'], 'drop --attack'),
    (['--sanity', '--eps-sweep', '1'], 'drop --eps-sweep'),
    (['--sanity', '--eps', '0'], 'must be > 0'),
    (['--transfer-from', 'a.py', 'b.pth', '--attack', 'pgd'], 'add --sanity'),
    (['--sanity', '--transfer-from', 'nowhere.py', 'b.pth'], 'nowhere.py'),
    (['--attack', 'apgd-ce', '--alpha', '1'], 'it applies to pgd, cw'),
    (['--attack', 'pgd', '--queries', '9'], 'it applies to square'),
    (['--attack', 'square', '--queries', '0'], 'must be >= 1'),
])
def test_bad_flags_exit_with_a_message(test_tool, monkeypatch, capsys, flags,
                                       message):
    monkeypatch.setattr(sys, 'argv', ['test.py', str(CONFIG), 'c.pth'] + flags)
    with pytest.raises(SystemExit) as exc:
        test_tool.parse_args()
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def results_of(accuracies: dict, clean: float = 80.) -> dict:
    """A robustness result dict: attack name -> accuracy (all targets)."""
    attacks = {
        name:
        dict(
            config={},
            columns={t: dict(top1=acc)
                     for t in TARGETS},
            avg=dict(top1=acc),
            avg_columns=list(TARGETS),
            ri=None)
        for name, acc in accuracies.items()
    }
    return dict(
        format=FORMAT,
        name='model',
        num_samples=100,
        topk=[1],
        clean=dict(top1=clean),
        attacks=attacks,
        baseline=None)


def sound_results(plan: dict) -> dict:
    """Accuracies that pass every check."""
    acc = {name: 80. - 10 * i for i, (_, name) in enumerate(plan['eps_grid'])}
    for i, (_, name) in enumerate(plan['steps_grid']):
        acc.setdefault(name, 50. - i)
    acc[plan['whitebox'][1]] = 35.
    acc[plan['unbounded']] = 0.
    acc[plan['square']] = 60.
    acc[plan['transfer']] = 70.
    return results_of(acc)


@pytest.fixture
def plan():
    return sanity_attacks(
        eps=8, steps=20, queries=100, transfer=('a.py', 'b.pth'))[1]


def test_sound_results_pass_every_check(plan):
    report = sanity_checks(sound_results(plan), plan)
    assert report['flags'] == 0
    checks = {(c['check'], c['target']) for c in report['checks']}
    assert checks == {(k, t)
                      for k in ('eps0', 'eps_monotone', 'steps_monotone',
                                'unbounded', 'square', 'transfer')
                      for t in TARGETS}
    assert 'FLAG' not in markdown_sanity(report)


@pytest.mark.parametrize('change,check', [
    (lambda p, a: a.update({p['eps_grid'][0][1]: 79.}), 'eps0'),
    (lambda p, a: a.update({p['eps_grid'][2][1]: 45.}), 'eps_monotone'),
    (lambda p, a: a.update({p['steps_grid'][2][1]: 52.}), 'steps_monotone'),
    (lambda p, a: a.update({p['unbounded']: 30.}), 'unbounded'),
    (lambda p, a: a.update({p['square']: 20.}), 'square'),
    (lambda p, a: a.update({p['transfer']: 10.}), 'transfer'),
])
def test_each_failure_is_flagged_with_its_numbers(plan, change, check):
    results = copy.deepcopy(sound_results(plan))
    acc = {
        n: e['columns']['rgb']['top1']
        for n, e in results['attacks'].items()
    }
    change(plan, acc)
    report = sanity_checks(results_of(acc), plan)
    flagged = {c['check'] for c in report['checks'] if c['status'] == 'flag'}
    assert flagged == {check}
    assert report['flags'] == 3  # one per target
    text = markdown_sanity(report)
    assert '**FLAG**' in text and '## Flags' in text


def test_a_missing_attack_is_named(plan):
    results = sound_results(plan)
    del results['attacks'][plan['square']]
    with pytest.raises(KeyError, match='Square100@eps=8'):
        sanity_checks(results, plan)


@pytest.fixture(scope='module')
def checkpoint(synthetic_data, deterministic_config, tmp_path_factory):
    """Ten epochs on the 40 clips (as in test_robust_test.py)."""
    work = tmp_path_factory.mktemp('sanity_train')
    run_tool(
        [
            'tools/train.py', deterministic_config, '--work-dir', work,
            '--no-validate', '--seed', 0, '--cfg-options'
        ] + data_options(synthetic_data, train_batch=8, train_samples=None) +
        ['train_cfg.max_epochs=10', 'default_hooks.checkpoint.interval=10'] +
        [o for o in DETERMINISTIC_MODEL if 'optim' not in o])
    return work / 'epoch_10.pth'


@pytest.mark.slow
def test_sanity_report_end_to_end(checkpoint, synthetic_data,
                                  deterministic_config, tmp_path):
    """The tiny model against itself as the transfer source: every check
    is computed for every target; ε = 0 reproduces the clean column."""
    work = tmp_path / 'sanity'
    run_tool(
        [
            'tools/test.py', deterministic_config, checkpoint, '--work-dir',
            work, '--sanity', '--steps', '2', '--queries', '10',
            '--transfer-from', deterministic_config, checkpoint,
            '--cfg-options'
        ] + data_options(synthetic_data, test_batch=2, test_samples=6),
        timeout=600)
    report = json.loads((work / 'sanity.json').read_text())
    assert report['format'] == 'mmamr.sanity/1'
    assert report['num_samples'] == 6
    assert {(c['check'], c['target'])
            for c in report['checks']
            } == {(k, t)
                  for k in ('eps0', 'eps_monotone', 'steps_monotone',
                            'unbounded', 'square', 'transfer')
                  for t in TARGETS}
    for check in report['checks']:
        if check['check'] == 'eps0':
            assert check['status'] == 'pass'
        if check['check'] == 'transfer':
            # The source is the model itself: transferred = white-box.
            white = check['values']['whitebox']
            assert check['values']['transfer'] == white['PGD2@eps=8']
    assert (work / 'sanity.md').read_text().startswith('# Sanity checks')


@pytest.mark.slow
def test_parameter_free_attacks_end_to_end(checkpoint, synthetic_data,
                                           deterministic_config, tmp_path):
    """``--attack apgd-ce apgd-t square autoattack``: AutoAttack's stages
    see each sample as the separate attacks do (same per-sample seeds),
    so its accuracy is at most each part's, for every target."""
    work = tmp_path / 'aa'
    run_tool(
        [
            'tools/test.py', deterministic_config, checkpoint, '--work-dir',
            work, '--attack', 'apgd-ce', 'apgd-dlr', 'apgd-t', 'square',
            'autoattack', '--steps', '3', '--queries', '10', '--cfg-options'
        ] + data_options(synthetic_data, test_batch=2, test_samples=6),
        timeout=600)
    results = json.loads((work / 'robustness.json').read_text())
    attacks = results['attacks']
    assert set(attacks) == {
        'APGD-CE3', 'APGD-DLR3', 'APGD-T3', 'Square10', 'AutoAttack',
        'worst-case'
    }
    for t in TARGETS:
        aa = attacks['AutoAttack']['columns'][t]['top1']
        assert aa <= results['clean']['top1']
        for part in ('APGD-CE3', 'APGD-T3', 'Square10'):
            assert aa <= attacks[part]['columns'][t]['top1'], (t, part)
