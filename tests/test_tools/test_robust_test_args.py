# Copyright (c) mmamr contributors. All rights reserved.
"""tools/test.py's robustness flags -> test_cfg / test_evaluator."""
import importlib.util
import sys

import pytest
from conftest import CONFIG, ROOT
from mmengine.config import Config

from mmamr.utils.robust_test_args import apply_robust_args


@pytest.fixture(scope='module')
def test_tool():
    spec = importlib.util.spec_from_file_location('mmamr_test_tool',
                                                  ROOT / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(test_tool, monkeypatch, *flags):
    monkeypatch.setattr(sys, 'argv',
                        ['test.py', str(CONFIG), 'ckpt.pth', *map(str, flags)])
    return test_tool.parse_args()


def configure(test_tool, monkeypatch, *flags):
    args = parse(test_tool, monkeypatch, *flags)
    cfg = Config.fromfile(str(CONFIG))
    sweep = apply_robust_args(cfg, args)
    cfg = test_tool.merge_args(cfg, args)
    return cfg, sweep


def test_without_robustness_flags_the_config_is_untouched(
        test_tool, monkeypatch):
    cfg, sweep = configure(test_tool, monkeypatch, '--dump', 'x.pkl')
    assert sweep is None
    assert cfg.test_cfg == dict(type='TestLoop')
    assert [e['type'] for e in cfg.test_evaluator] == [
        'AccMetric', 'DumpResults'
    ]


def test_flags_build_the_paper_protocol(test_tool, monkeypatch, tmp_path):
    cfg, sweep = configure(test_tool, monkeypatch, '--attack', 'fgsm', 'pgd',
                           '--attack', 'cw', '--kappa', '5', '--eps', '6',
                           '--alpha', '1.5', '--targets', 'both', 'rgb',
                           '--attack-seed', '7', '--dump', 'x.pkl',
                           '--cfg-options', 'test_cfg.progress_interval=5')
    assert sweep is None
    loop = cfg.test_cfg
    assert loop.type == 'RobustTestLoop'
    assert loop.seed == 7
    assert loop.targets == ['both', 'rgb']  # the loop orders them
    assert loop.progress_interval == 5
    eps, alpha = dict(rgb=6 / 255, skeleton=6 / 255), dict(
        rgb=1.5 / 255, skeleton=1.5 / 255)
    assert loop.attacks == [
        dict(type='FGSM', eps=eps, name='FGSM'),
        dict(
            type='PGD',
            eps=eps,
            steps=20,
            alpha=alpha,
            random_start=True,
            name='PGD20'),
        dict(
            type='CW',
            eps=eps,
            steps=30,
            alpha=alpha,
            random_start=True,
            kappa=5.,
            name='CW30'),
    ]
    # --dump still appends DumpResults after the robustness metric.
    assert [e['type'] for e in cfg.test_evaluator] == [
        'RobustnessMetric', 'DumpResults'
    ]
    assert cfg.test_evaluator[0]['worst_case'] is True


def test_defaults_steps_and_no_random_start(test_tool, monkeypatch):
    cfg, _ = configure(test_tool, monkeypatch, '--attack', 'pgd', '--steps',
                       '5', '--no-random-start')
    (pgd, ) = cfg.test_cfg.attacks
    assert pgd == dict(
        type='PGD',
        eps=dict(rgb=8 / 255, skeleton=8 / 255),
        steps=5,
        alpha=dict(rgb=2 / 255, skeleton=2 / 255),
        random_start=False,
        name='PGD5')
    assert cfg.test_cfg.targets == ['rgb', 'skeleton', 'both']
    assert cfg.test_cfg.seed == 0


def test_eps_sweep_expands_the_attacks(test_tool, monkeypatch):
    cfg, sweep = configure(test_tool, monkeypatch, '--attack', 'fgsm', 'pgd',
                           '--eps-sweep', '0', '4')
    assert sweep == dict(attacks=['FGSM', 'PGD20'], eps=[0., 4.])
    names = [a['name'] for a in cfg.test_cfg.attacks]
    assert names == [
        'FGSM@eps=0', 'FGSM@eps=4', 'PGD20@eps=0', 'PGD20@eps=4'
    ]
    assert cfg.test_cfg.attacks[3]['eps'] == dict(
        rgb=4 / 255, skeleton=4 / 255)
    assert cfg.test_evaluator['worst_case'] is False


@pytest.mark.parametrize(
    'flags,message',
    [
        (['--eps', '8'], '--eps need --attack'),
        (['--attack', 'fgsm', '--steps', '3'], 'no effect on FGSM'),
        (['--attack', 'pgd', '--kappa', '1'], 'add cw'),
        (['--attack', 'pgd', '--eps', '8', '--eps-sweep', '2'],
         'exclude each other'),
        (['--attack', 'pgd', 'pgd'], 'given twice'),
        (['--attack', 'pgd', '--eps', '-1'], 'must be >= 0'),
        (['--attack', 'pgd', '--baseline', 'nowhere.json'], 'nowhere.json'),
    ])
def test_bad_flags_exit_with_a_message(test_tool, monkeypatch, capsys, flags,
                                       message):
    with pytest.raises(SystemExit) as exc:
        parse(test_tool, monkeypatch, *flags)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_attack_is_refused_by_argparse(test_tool, monkeypatch,
                                               capsys):
    with pytest.raises(SystemExit):
        parse(test_tool, monkeypatch, '--attack', 'fab-t')
    assert "invalid choice: 'fab-t'" in capsys.readouterr().err
