# Copyright (c) mmamr contributors. All rights reserved.
"""AutoAttack: the cascade is the per-sample worst case of its stages;
transfer attacks hand over the source model's examples."""
import warnings

import pytest
import torch
from noisy_classes import (SIGNAL, correct, make_data, sample_generators,
                           trained)

from mmamr.attacks import (APGD, APGDT, PGD, AutoAttack, Square, Transfer,
                           autoattack)
from mmamr.attacks.autoattack import standard_stages

EPS = dict(rgb=SIGNAL, skeleton=SIGNAL)
STAGES = dict(steps=10, queries=30, num_target_classes=3)


@pytest.fixture(scope='module')
def model():
    # Double precision: the stages then see each sample exactly alike in
    # a batch of any size (no float32 rounding flips a sign step).
    return trained().double()


@pytest.fixture(scope='module')
def data():
    inputs, labels = make_data(120, seed=2)
    return {m: x.double() for m, x in inputs.items()}, labels


@pytest.mark.parametrize('target', ['skeleton', 'both'])
def test_autoattack_is_at_least_as_strong_as_each_stage_per_sample(
        model, data, target):
    inputs, labels = data
    num = len(labels)
    attack = AutoAttack(eps=EPS, targets=target, **STAGES)
    result = attack.run(model, inputs, labels, sample_generators(num))
    assert torch.equal(result.robust, correct(model, result.adv, labels))
    stages = dict(
        zip(['APGD-CE', 'APGD-T', 'Square'], [
            APGD(eps=EPS, steps=10, targets=target),
            APGDT(eps=EPS, steps=10, num_target_classes=3, targets=target),
            Square(eps=EPS, queries=30, targets=target)
        ]))
    for name, stage in stages.items():
        alone = correct(
            model, stage(model, inputs, labels, None, sample_generators(num)),
            labels)
        # A sample robust to the cascade is robust to the stage alone.
        assert not (result.robust & ~alone).any(), name
    # Each stage fooled some sample: the cascade is not one attack.
    assert int(result.fooled_by['APGD-CE'].sum()) > 0


def test_result_accounts_for_every_sample(model, data):
    inputs, labels = data
    labels = labels.clone()
    labels[:10] = (labels[:10] + 1) % 10  # clean errors
    result = AutoAttack(
        eps=EPS, targets='both', **STAGES).run(model, inputs, labels,
                                               sample_generators(120))
    assert not result.clean[:10].any() and not result.robust[:10].any()
    stacked = torch.stack([~result.clean, result.robust] +
                          list(result.fooled_by.values()))
    # Every sample is in exactly one group: a clean error, robust, or
    # fooled first by one stage.
    assert torch.equal(stacked.sum(0), torch.ones(120, dtype=torch.long))
    # Robust samples and clean errors keep their clean inputs.
    keep = result.robust | ~result.clean
    for m, x in inputs.items():
        assert torch.equal(result.adv[m][keep], x[keep])
        assert (result.adv[m] - x).abs().max() <= EPS[m] + 1e-9


def test_standard_version_is_apgd_ce_apgd_t_square():
    attack = AutoAttack(eps=dict(rgb=4 / 255), targets='rgb')
    assert list(attack.stages) == ['APGD-CE', 'APGD-T', 'Square']
    ce, t, sq = attack.stages.values()
    assert type(ce) is APGD and ce.loss == 'ce' and ce.steps == 100
    assert type(t) is APGDT and t.num_target_classes == 9
    assert type(sq) is Square and sq.queries == 5000
    for stage in attack.stages.values():
        assert stage.eps == dict(rgb=4 / 255) and stage.targets == 'rgb'
    assert [s['type']
            for s in standard_stages()] == ['APGD', 'APGDT', 'Square']


def test_custom_stages(model, data):
    inputs, labels = data
    attack = AutoAttack(
        eps=EPS,
        attacks=[
            dict(type='PGD', steps=5, name='PGD5'),
            dict(type='APGD', loss='dlr', steps=5)
        ])
    assert list(attack.stages) == ['PGD5', 'APGD']
    adv = autoattack(
        model,
        inputs,
        labels,
        eps=EPS,
        attacks=[dict(type='PGD', steps=5)],
        generator=sample_generators(120))
    assert set(adv) == set(inputs)


@pytest.mark.parametrize('kwargs,message', [
    (dict(attacks=[dict(type='PGD', eps=dict(rgb=1.))]), 'AutoAttack\'s own'),
    (dict(attacks=[dict(type='PGD'), dict(type='PGD')]), 'distinct names'),
    (dict(attacks=[]), 'non-empty list'),
    (dict(version='plus'), 'version='),
    (dict(targeted=True), 'untargeted'),
])
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AutoAttack(**kwargs)


def test_a_randomised_model_gets_a_warning(model, data):
    inputs, labels = data

    def noisy(x):
        logits = model(x)
        return logits + torch.randn_like(logits)

    stage = [dict(type='PGD', steps=1)]
    with pytest.warns(UserWarning, match='different logits'):
        AutoAttack(eps=EPS, attacks=stage)(noisy, inputs, labels)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        AutoAttack(eps=EPS, attacks=stage)(model, inputs, labels)


def test_transfer_hands_over_the_source_models_examples(model, data):
    inputs, labels = data
    target_model = trained(seed=5).double()
    pgd = dict(type='PGD', steps=5)
    transfer = Transfer(source=model, attack=pgd, eps=EPS, targets='both')
    adv = transfer(target_model, inputs, labels, None, sample_generators(120))
    direct = PGD(
        eps=EPS, steps=5)(model, inputs, labels, None, sample_generators(120))
    for m in inputs:
        assert torch.equal(adv[m], direct[m])


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(source=dict(config='nowhere.py', checkpoint='x.pth')),
     FileNotFoundError, 'nowhere.py'),
    (dict(source=dict(config='a.py')), ValueError, 'dict\\(config='),
    (dict(source=3), TypeError, 'source must be a model'),
    (dict(source=lambda x: x, attack=dict(
        type='PGD', eps=dict(rgb=1.))), ValueError, "Transfer's own"),
])
def test_bad_transfer_configs_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        Transfer(**kwargs)
