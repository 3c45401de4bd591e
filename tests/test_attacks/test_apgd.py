# Copyright (c) mmamr contributors. All rights reserved.
"""APGD and APGD-T follow Croce & Hein 2020 and are at least as strong as
the paper's PGD20."""
import math

import pytest
import torch
from attack_testing import build_recognizer, make_inputs
from noisy_classes import (SIGNAL, accuracy, correct, make_data,
                           sample_generators, trained)

from mmamr.attacks import (APGD, APGDT, PGD, AutoAttack, Square, apgd,
                           dlr_objective, dlr_targeted_objective)
from mmamr.attacks.apgd import checkpoint_intervals

EPS = dict(rgb=SIGNAL, skeleton=SIGNAL)


@pytest.fixture(scope='module')
def model():
    return trained()


@pytest.fixture(scope='module')
def data():
    return make_data(200, seed=2)


def test_dlr_loss_is_the_papers_ratio_and_ignores_logit_scale():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 6, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 6, (64, ), generator=gen)
    value = dlr_objective(logits, labels)
    for z, y, v in zip(logits, labels, value):
        ranked = sorted(z.tolist(), reverse=True)
        other = max(z[j] for j in range(6) if j != y)
        assert float(v) == pytest.approx(-float(z[y] - other) /
                                         (ranked[0] - ranked[2]))
    # Invariant to a shift and a positive scale of the logits.
    assert torch.allclose(dlr_objective(3 * logits - 7, labels), value)
    # Positive exactly on the misclassified samples.
    assert torch.equal(value > 0, logits.argmax(1) != labels)


def test_targeted_dlr_loss_is_the_papers_ratio():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(32, 5, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, 5, (32, ), generator=gen)
    target = (labels + 1) % 5
    value = dlr_targeted_objective(logits, labels, target)
    for z, y, t, v in zip(logits, labels, target, value):
        r = sorted(z.tolist(), reverse=True)
        assert float(v) == pytest.approx(-float(z[y] - z[t]) /
                                         (r[0] - (r[2] + r[3]) / 2))


def test_dlr_losses_refuse_too_few_classes():
    with pytest.raises(ValueError, match='at least 3 classes'):
        dlr_objective(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match='at least 4 classes'):
        dlr_targeted_objective(
            torch.zeros(2, 3), torch.zeros(2, dtype=torch.long),
            torch.ones(2, dtype=torch.long))


def test_checkpoints_are_the_papers_at_100_iterations():
    # p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06),
    # checkpoints at ceil(p_j * N) (Croce & Hein 2020, Section 3.2).
    p = [0, 0.22]
    while p[-1] < 1:
        p.append(p[-1] + max(p[-1] - p[-2] - 0.03, 0.06))
    paper = [math.ceil(round(x * 100, 6)) for x in p[1:] if x <= 1]
    first, decrement, minimum = checkpoint_intervals(100)
    ours, at, interval = [], 0, first
    while at + interval <= 100:
        at += interval
        ours.append(at)
        interval = max(interval - decrement, minimum)
    assert ours == paper == [22, 41, 57, 70, 80, 87, 93, 99]


@pytest.mark.parametrize('target', ['rgb', 'skeleton', 'both'])
def test_apgd_ce_is_at_least_as_strong_as_pgd20(model, data, target):
    """Same ε and iterations: APGD-CE with 20 iterations leaves no more
    samples correct than the paper's PGD20 (α = 2/255)."""
    inputs, labels = data
    num = len(labels)
    pgd20 = PGD(
        eps=EPS,
        alpha=dict(rgb=2 / 255, skeleton=2 / 255),
        steps=20,
        targets=target)
    apgd20 = APGD(eps=EPS, steps=20, targets=target)
    acc_pgd = accuracy(
        model, pgd20(model, inputs, labels, generator=sample_generators(num)),
        labels)
    acc_apgd = accuracy(
        model, apgd20(model, inputs, labels, generator=sample_generators(num)),
        labels)
    assert acc_apgd <= acc_pgd


@pytest.mark.parametrize('loss', ['ce', 'dlr'])
def test_apgd_stays_in_budget_and_keeps_misclassified_samples_clean(
        model, data, loss):
    inputs, labels = data
    # Wrong labels for half of the samples: misclassified on clean input.
    labels = labels.clone()
    labels[::2] = (labels[::2] + 1) % 10
    before = correct(model, inputs, labels)
    adv = apgd(
        model,
        inputs,
        labels,
        eps=EPS,
        steps=10,
        loss=loss,
        generator=sample_generators(len(labels)))
    for m, x in adv.items():
        assert (x - inputs[m]).abs().max() <= EPS[m] + 1e-6
        assert torch.equal(x[~before], inputs[m][~before])
    # A sample the attack leaves correct was correct before: robust
    # accuracy never exceeds clean accuracy.
    assert not (correct(model, adv, labels) & ~before).any()


def test_a_sample_is_attacked_alike_alone_and_in_a_batch(model, data):
    inputs, labels = data
    gens = sample_generators(8)
    attack = APGD(eps=EPS, steps=10, targets='skeleton')
    batch = attack(model, {
        m: x[:8]
        for m, x in inputs.items()
    }, labels[:8], None, gens)
    alone = attack(model, {
        m: x[5:6]
        for m, x in inputs.items()
    }, labels[5:6], None,
                   sample_generators(8)[5:6])
    assert torch.allclose(alone['skeleton'], batch['skeleton'][5:6], atol=1e-6)


def test_restarts_only_add_successes(model, data):
    """Restart 1 is the single run (same generators), later restarts
    attack the samples still correct: nothing broken is lost."""
    inputs, labels = data
    num = len(labels)
    one = APGD(eps=EPS, steps=10, targets='skeleton')
    three = APGD(eps=EPS, steps=10, restarts=3, targets='skeleton')
    left_one = correct(
        model, one(model, inputs, labels, generator=sample_generators(num)),
        labels)
    left_three = correct(
        model, three(model, inputs, labels, generator=sample_generators(num)),
        labels)
    assert not (left_three & ~left_one).any()


def test_targeted_apgd_reaches_given_targets(model, data):
    inputs, labels = data
    targets = (labels + 3) % 10
    attack = APGD(
        eps=dict(rgb=4 * SIGNAL, skeleton=4 * SIGNAL), steps=20, targeted=True)
    adv = attack(model, inputs, labels, targets, sample_generators(200))
    with torch.no_grad():
        hit = (model(adv).argmax(1) == targets).float().mean()
    assert hit > 0.9


@pytest.mark.parametrize(
    'build,message',
    [(lambda: APGD(loss='dlr', targeted=True), 'untargeted'),
     (lambda: APGD(loss='l2'), 'choose one of'),
     (lambda: APGD(steps=0), 'steps=0'),
     (lambda: APGD(restarts=1.5), 'restarts=1.5'),
     (lambda: APGD(rho=2), 'rho=2'),
     (lambda: APGDT(targeted=True), 'own target classes'),
     (lambda: APGDT(num_target_classes=0), 'num_target_classes=0')])
def test_bad_arguments_are_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_apgdt_needs_four_classes(model):
    inputs, labels = make_data(4, seed=3)

    def three_classes(x):
        return model(x)[:, :3]

    with pytest.raises(ValueError, match='at least 4 classes'):
        APGDT(eps=EPS, steps=2)(three_classes, inputs, labels.clamp(max=2))


@pytest.mark.parametrize('target', ['rgb', 'skeleton', 'both'])
def test_parameter_free_attacks_on_the_recognizer(target):
    """On the tiny I3D + HCN: only the attacked modalities change, within
    ε, and an absent second body stays exactly zero (padding, D7)."""
    model = build_recognizer()
    inputs = make_inputs()
    inputs['skeleton'][:, 1] = 0  # one person per clip
    with torch.no_grad():
        labels = model(inputs).argmax(1)  # all correct: all attacked
    eps = dict(rgb=4 / 255, skeleton=10 / 255)  # each its own ball
    for attack in (APGD(eps=eps, steps=3, targets=target),
                   APGD(eps=eps, steps=3, loss='dlr', targets=target),
                   APGDT(
                       eps=eps, steps=2, num_target_classes=2, targets=target),
                   Square(eps=eps, queries=5, targets=target),
                   AutoAttack(eps=eps, steps=2, queries=3, targets=target)):
        adv = attack(model, inputs, labels, generator=sample_generators(4))
        for m, x in adv.items():
            if m in attack.modalities:
                assert (x - inputs[m]).abs().max() <= eps[m] + 1e-6
            else:
                assert torch.equal(x, inputs[m])
        assert not adv['skeleton'][:, 1].any()


@pytest.mark.parametrize(
    'build', [
        lambda fast: APGD(steps=3, targets='skeleton', fast_path=fast),
        lambda fast: Square(queries=4, targets='rgb', fast_path=fast)
    ],
    ids=['APGD-skeleton', 'Square-rgb'])
def test_fast_path_gives_the_full_paths_result(build):
    """With one modality attacked, the untouched branch is computed once
    (and again for the samples of a restricted batch) yet the attack is
    the one of the whole model."""
    model = build_recognizer()
    inputs = make_inputs()
    with torch.no_grad():
        labels = model(inputs).argmax(1)
    fast = build(True)(model, inputs, labels, None, sample_generators(4))
    full = build(False)(model, inputs, labels, None, sample_generators(4))
    for m in inputs:
        assert torch.allclose(fast[m], full[m], atol=1e-6)
