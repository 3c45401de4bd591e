# Copyright (c) mmamr contributors. All rights reserved.
"""tools/test.py's --restarts and --best-iterate -> PGD/CW configs that
build, named apart from the paper's single run; --perturb-padding ->
attacks that may write into the skeleton padding, named apart so that
they are never read as the project's numbers."""
import importlib.util
import sys

import pytest
from conftest import CONFIG, ROOT
from mmengine.config import Config

from mmamr.attacks import PGD
from mmamr.engine.robust_test_loop import build_attack, parse_attacks
from mmamr.utils.robust_test_args import apply_robust_args


@pytest.fixture(scope='module')
def test_tool():
    spec = importlib.util.spec_from_file_location('mmamr_test_tool',
                                                  ROOT / 'tools' / 'test.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def attacks_of(test_tool, monkeypatch, *flags):
    monkeypatch.setattr(sys, 'argv',
                        ['test.py', str(CONFIG), 'ckpt.pth', *flags])
    cfg = Config.fromfile(str(CONFIG))
    apply_robust_args(cfg, test_tool.parse_args())
    return cfg.test_cfg.attacks


def built(cfg):
    """The attack config the loop builds (its name stripped)."""
    return dict({k: v for k, v in cfg.items() if k != 'name'}, targets='both')


def test_restarts_and_best_iterate_reach_pgd_and_cw_only(
        test_tool, monkeypatch):
    attacks = attacks_of(test_tool, monkeypatch, '--attack', 'fgsm', 'pgd',
                         'cw', '--restarts', '5', '--best-iterate')
    assert [a['name']
            for a in attacks] == ['FGSM', 'PGD20x5-best', 'CW30x5-best']
    assert 'restarts' not in attacks[0] and 'best_iterate' not in attacks[0]
    for cfg in attacks[1:]:
        assert cfg['restarts'] == 5 and cfg['best_iterate'] is True
        attack = build_attack(built(cfg))
        assert attack.restarts == 5 and attack.best_iterate
    # The loop names a config without a name the same way.
    unnamed = [{
        k: v
        for k, v in cfg.items() if k != 'name'
    } for cfg in attacks]
    assert list(parse_attacks(unnamed)) == [a['name'] for a in attacks]


def test_defaults_keep_the_papers_configs(test_tool, monkeypatch):
    """Without the flags, and with their default values, the configs
    (and so robustness.json and the comparison with a baseline) are the
    paper's: no restarts or best_iterate keys."""
    for flags in ([], ['--restarts', '1']):
        attacks = attacks_of(test_tool, monkeypatch, '--attack', 'pgd', *flags)
        assert attacks[0]['name'] == 'PGD20'
        assert 'restarts' not in attacks[0]
        assert 'best_iterate' not in attacks[0]
        attack = build_attack(built(attacks[0]))
        assert isinstance(attack, PGD) and attack.restarts == 1
        assert not attack.best_iterate
    attacks = attacks_of(test_tool, monkeypatch, '--attack', 'pgd',
                         '--restarts', '3')
    assert attacks[0]['name'] == 'PGD20x3'


def test_perturb_padding_reaches_every_attack_under_its_own_name(
        test_tool, monkeypatch):
    attacks = attacks_of(test_tool, monkeypatch, '--attack', 'fgsm', 'pgd',
                         'apgd-ce', '--perturb-padding')
    assert [a['name'] for a in attacks
            ] == ['FGSM-padding', 'PGD20-padding', 'APGD-CE100-padding']
    for cfg in attacks:
        assert build_attack(built(cfg)).perturb_padding is True
    plain = attacks_of(test_tool, monkeypatch, '--attack', 'pgd')
    assert 'perturb_padding' not in plain[0]
    assert build_attack(built(plain[0])).perturb_padding is False


@pytest.mark.parametrize(
    'flags,message',
    [(['--attack', 'fgsm', '--restarts', '2'], '--restarts has no effect'),
     (['--attack', 'fgsm', '--best-iterate'], '--best-iterate has no effect'),
     (['--attack', 'pgd', '--restarts', '0'], 'must be >= 1'),
     (['--attack', 'pgd', '--restarts', '2', '--no-random-start'
       ], 'needs random starts'), (['--restarts', '2'], 'need --attack'),
     (['--sanity', '--best-iterate'], 'drop --best-iterate'),
     (['--perturb-padding'], 'need --attack'),
     (['--sanity', '--perturb-padding'], 'drop --perturb-padding')])
def test_inconsistent_flags_are_clear_errors(test_tool, monkeypatch, capsys,
                                             flags, message):
    with pytest.raises(SystemExit) as exc:
        attacks_of(test_tool, monkeypatch, *flags)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
