# Copyright (c) mmamr contributors. All rights reserved.
"""The attack API of the contract: registry configs and functions."""
import pytest
import torch
from attack_testing import LinearModel

import mmamr
from mmamr.attacks import CW, FGSM, PGD, Attack
from mmamr.registry import ATTACKS


def test_contract_config_builds_a_pgd():
    attack = ATTACKS.build(
        dict(
            type='PGD',
            eps=dict(rgb=8 / 255, skeleton=8 / 255),
            alpha=dict(rgb=2 / 255, skeleton=2 / 255),
            steps=20,
            random_start=True,
            targets='both'))
    assert isinstance(attack, PGD) and isinstance(attack, Attack)
    assert attack.steps == 20 and attack.modalities == ('rgb', 'skeleton')
    assert not attack.targeted and attack.model_mode == 'eval'
    assert 'steps=20' in repr(attack)


@pytest.mark.parametrize('cfg, cls', [
    (dict(type='FGSM', targets='rgb'), FGSM),
    (dict(type='CW', kappa=0., targets='skeleton'), CW),
])
def test_every_attack_is_registered(cfg, cls):
    attack = ATTACKS.build(cfg)
    assert type(attack) is cls
    assert attack.modalities == (cfg['targets'], )


def test_defaults_follow_the_paper():
    pgd, cw, fgsm = PGD(), CW(), FGSM()
    assert pgd.eps == cw.eps == fgsm.eps == dict(
        rgb=8 / 255, skeleton=8 / 255)
    assert pgd.alpha == cw.alpha == dict(rgb=2 / 255, skeleton=2 / 255)
    assert fgsm.alpha == fgsm.eps and fgsm.steps == 1
    assert not fgsm.random_start and pgd.random_start
    assert cw.steps == 30 and not pgd.best_iterate


def plain_callable_and_inputs():
    """Not an nn.Module: a function closing over a linear model."""
    inputs = dict(rgb=torch.rand(3, 3, 2, 4, 4), skeleton=torch.rand(3, 6))
    torch.manual_seed(0)
    linear = LinearModel({m: x.shape[1:] for m, x in inputs.items()}, 3)
    return (lambda x: linear(x)), inputs, torch.tensor([0, 1, 2])


@pytest.mark.parametrize('name, cls', [('fgsm', FGSM), ('pgd', PGD),
                                       ('cw', CW)])
def test_functional_api_equals_the_classes(name, cls):
    model, inputs, labels = plain_callable_and_inputs()
    kwargs = dict(eps=dict(rgb=0.1, skeleton=0.05), targets='both')
    if name != 'fgsm':
        kwargs.update(alpha=dict(rgb=0.02, skeleton=0.01), steps=3)
    extra = dict() if name == 'fgsm' else dict(
        generator=torch.Generator().manual_seed(0))
    got = getattr(mmamr.attacks, name)(model, inputs, labels, **kwargs,
                                       **extra)
    if name != 'fgsm':
        extra['generator'] = torch.Generator().manual_seed(0)
    expected = cls(**kwargs)(model, inputs, labels, **extra)
    for m in inputs:
        assert torch.equal(got[m], expected[m])
        assert not torch.equal(got[m], inputs[m])


def test_functional_targeted_call():
    model, inputs, labels = plain_callable_and_inputs()
    targets = (labels + 1) % 3
    adv = mmamr.attacks.pgd(
        model, inputs, labels, targets, targeted=True, steps=2,
        eps=dict(rgb=0.1, skeleton=0.1), alpha=dict(rgb=0.05, skeleton=0.05))
    assert set(adv) == set(inputs)
