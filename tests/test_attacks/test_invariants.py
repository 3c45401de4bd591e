# Copyright (c) mmamr contributors. All rights reserved.
"""Invariants of FGSM, PGD and CW on a small random I3D + HCN."""
import pytest
import torch
import torch.nn.functional as F
from attack_testing import build_recognizer, make_inputs

from mmamr.attacks import CW, FGSM, PGD

EPS = dict(rgb=6 / 255, skeleton=10 / 255)
ALPHA = dict(rgb=3 / 255, skeleton=5 / 255)
# The projection's own rounding (clean + clamp(adv - clean)): a few ulps.
TOL = 1e-6


def attacks(targets, **kwargs):
    return [
        FGSM(eps=EPS, targets=targets, **kwargs),
        PGD(eps=EPS, alpha=ALPHA, steps=3, targets=targets, **kwargs),
        CW(eps=EPS, alpha=ALPHA, steps=3, targets=targets, **kwargs),
        PGD(eps=EPS,
            alpha=ALPHA,
            steps=2,
            restarts=2,
            best_iterate=True,
            targets=targets,
            **kwargs),
    ]


def mean_loss(model, inputs, labels):
    with torch.no_grad():
        return F.cross_entropy(model(inputs), labels).item()


@pytest.mark.parametrize('targets', ['rgb', 'skeleton', 'both'])
def test_stays_in_budget_and_changes_only_its_targets(recognizer, inputs,
                                                      labels, targets):
    copies = {k: v.clone() for k, v in inputs.items()}
    attacked = ('rgb', 'skeleton') if targets == 'both' else (targets, )
    for attack in attacks(targets):
        adv = attack(recognizer, inputs, labels)
        assert set(adv) == set(inputs) and adv is not inputs
        for m, x in inputs.items():
            assert adv[m].shape == x.shape and adv[m].dtype == x.dtype
            assert not adv[m].requires_grad
            delta = (adv[m] - x).abs().max().item()
            if m in attacked:
                # PGD never leaves the ε-ball of either modality...
                assert delta <= EPS[m] + TOL, (attack, m, delta)
                # ...and uses it (a no-op attack would pass the above).
                assert delta >= EPS[m] / 2, (attack, m, delta)
            else:
                # The untargeted modality is the original tensor.
                assert torch.equal(adv[m], x)
                assert adv[m].data_ptr() == x.data_ptr()
        assert 0 <= adv['rgb'].min() and adv['rgb'].max() <= 1
    # Inputs are never mutated (values, shapes, requires_grad).
    for m in inputs:
        assert torch.equal(inputs[m], copies[m])
        assert not inputs[m].requires_grad


def test_rgb_clamped_to_unit_range_skeleton_not():
    model = build_recognizer()
    inputs = make_inputs(n=2)
    # Pixels at the bounds and skeleton coordinates outside [0, 1]
    # (limbs leaving NormalizeSkeleton's box).
    inputs['rgb'][:, :, :, :8] = 0.
    inputs['rgb'][:, :, :, 8:16] = 1.
    inputs['skeleton'] = inputs['skeleton'] * 3 - 1
    eps = dict(rgb=0.1, skeleton=0.1)
    adv = PGD(eps=eps, alpha=eps, steps=2)(model, inputs, torch.tensor([0, 1]))
    assert adv['rgb'].min() == 0 and adv['rgb'].max() == 1
    delta = adv['skeleton'] - inputs['skeleton']
    assert delta.abs().max() <= 0.1 + TOL
    # Not clamped: points below 0 moved further down, points above 1 up.
    assert adv['skeleton'].min() < inputs['skeleton'].min()
    assert adv['skeleton'].max() > inputs['skeleton'].max()


@pytest.mark.parametrize('targets', ['rgb', 'skeleton', 'both'])
def test_zero_budget_gives_the_clean_inputs(recognizer, inputs, labels,
                                            targets):
    zero = dict(rgb=0., skeleton=0.)
    for attack in [
            FGSM(eps=zero, targets=targets),
            PGD(eps=zero, steps=2, random_start=True, targets=targets),
            CW(eps=zero, steps=2, random_start=True, targets=targets),
            PGD(eps=zero,
                steps=2,
                restarts=2,
                best_iterate=True,
                targets=targets)
    ]:
        adv = attack(recognizer, inputs, labels)
        for m in inputs:
            assert torch.equal(adv[m], inputs[m])
        with torch.no_grad():
            assert torch.equal(
                recognizer(adv).argmax(1),
                recognizer(inputs).argmax(1))


def test_fgsm_is_one_pgd_step_of_size_eps_and_the_signed_gradient():
    model = build_recognizer()
    # Two views per sample: the loss is on the view-averaged logits and
    # each view element gets its own perturbation.
    inputs = make_inputs(n=2, views=2)
    labels = torch.tensor([0, 3])
    fgsm = FGSM(eps=EPS)(model, inputs, labels)
    pgd = PGD(
        eps=EPS, alpha=EPS, steps=1, random_start=False)(model, inputs, labels)
    leaves = {m: x.clone().requires_grad_() for m, x in inputs.items()}
    F.cross_entropy(model.logits(leaves), labels, reduction='sum').backward()
    for m, x in inputs.items():
        assert torch.equal(fgsm[m], pgd[m])
        expected = x + EPS[m] * leaves[m].grad.sign()
        if m == 'rgb':
            expected = expected.clamp(0, 1)
        assert torch.allclose(fgsm[m], expected, atol=TOL, rtol=0)
        # The views did not get the same perturbation.
        delta = fgsm[m] - x
        assert not torch.equal(delta[:, 0], delta[:, 1])


@pytest.mark.parametrize('targets', ['both', 'skeleton'])
def test_more_steps_or_larger_eps_never_lower_the_loss(recognizer, inputs,
                                                       labels, targets):
    """Deterministic (no random start); the batch-mean loss may only drop
    by 0.1%: float rounding is ~1e-6 relative, and a last iterate that
    oscillates around a maximum moves by one α-step of a first-order
    change, while every bug this guards against (a flipped sign, a wrong
    projection, steps on the wrong modality) costs several % of the
    loss measured here."""

    def loss_after(eps, steps):
        budget = dict(rgb=eps, skeleton=eps)
        step = dict(rgb=eps / 4, skeleton=eps / 4)
        adv = PGD(
            eps=budget,
            alpha=step,
            steps=steps,
            random_start=False,
            targets=targets)(recognizer, inputs, labels)
        return mean_loss(recognizer, adv, labels)

    clean = mean_loss(recognizer, inputs, labels)
    by_steps = [loss_after(4 / 255, k) for k in (1, 2, 4, 8)]
    by_eps = [loss_after(e / 255, 4) for e in (1, 2, 4, 8)]
    for losses in (by_steps, by_eps):
        assert losses[0] > clean
        for before, after in zip(losses, losses[1:]):
            assert after >= before - 1e-3 * abs(before), losses


def test_best_iterate_is_per_sample_worst_over_the_iterates(
        recognizer, inputs, labels):
    kwargs = dict(eps=EPS, alpha=ALPHA, random_start=False)

    def per_sample(adv):
        with torch.no_grad():
            logits = recognizer(adv)
        return (logits.argmax(1)
                != labels, F.cross_entropy(logits, labels, reduction='none'))

    best = [
        per_sample(
            PGD(steps=k, best_iterate=True,
                **kwargs)(recognizer, inputs, labels)) for k in (0, 1, 3)
    ]
    last = [
        per_sample(PGD(steps=k, **kwargs)(recognizer, inputs, labels))
        for k in (0, 1, 3)
    ]
    # The iterates of a shorter run are a prefix of the longer run's
    # (no random start), so, sample by sample, the best is misclassified
    # if an earlier iterate is, else it has at least every iterate's
    # loss; and it never gets better for the model with more steps.
    assert torch.equal(best[0][1], last[0][1])
    for k in range(3):
        fooled, loss = best[k]
        for j in range(k + 1):
            assert (fooled | ~last[j][0]).all()
            assert (fooled | (loss >= last[j][1] - 1e-5)).all()
        if k:
            assert (fooled | ~best[k - 1][0]).all()
            assert (fooled | (loss >= best[k - 1][1] - 1e-5)).all()


def test_model_ignoring_the_skeleton_keeps_its_clean_accuracy_under_xs():
    model = build_recognizer()
    rgb_dim = model.branches['rgb'].feat_dim
    with torch.no_grad():
        model.cls_head.fc_cls.weight[:, rgb_dim:] = 0
    inputs = make_inputs(n=4)
    with torch.no_grad():
        clean = model(inputs)
    labels = clean.argmax(1)
    labels[:2] = (labels[:2] + 1) % 5  # some clean mistakes too
    for attack in [
            PGD(eps=EPS, alpha=ALPHA, steps=3, targets='skeleton'),
            CW(eps=EPS, alpha=ALPHA, steps=3, targets='skeleton')
    ]:
        adv = attack(model, inputs, labels)
        assert not torch.equal(adv['skeleton'], inputs['skeleton'])
        with torch.no_grad():
            robust = model(adv)
        assert torch.equal(robust, clean)
        acc = (robust.argmax(1) == labels).float().mean()
        assert acc == (clean.argmax(1) == labels).float().mean() == 0.5


def test_modes_are_restored_and_eval_is_used_by_default(inputs, labels):
    model = build_recognizer()
    model.train()
    model.branches['skeleton'].eval()  # a mixed state to restore exactly
    before = {name: m.training for name, m in model.named_modules()}
    seen = []
    model.register_forward_pre_hook(lambda module, args: seen.append(
        {m.training
         for m in module.modules()}))
    PGD(steps=2)(model, inputs, labels)
    assert seen and all(s == {False} for s in seen)
    assert before == {n: m.training for n, m in model.named_modules()}
    seen.clear()
    PGD(steps=2, model_mode='train')(model, inputs, labels)
    assert seen and all(s == {True} for s in seen)
    assert before == {n: m.training for n, m in model.named_modules()}


def test_parameters_get_no_gradients(inputs, labels):
    model = build_recognizer()
    params = list(model.parameters())
    params[0].grad = torch.ones_like(params[0])
    for attack in attacks('both'):
        attack(model, inputs, labels)
    assert torch.equal(params[0].grad, torch.ones_like(params[0]))
    assert all(p.grad is None for p in params[1:])


def test_works_under_no_grad_and_is_reproducible(recognizer, inputs, labels):
    attack = PGD(eps=EPS, alpha=ALPHA, steps=2)
    ref = attack(
        recognizer, inputs, labels, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        adv = attack(
            recognizer,
            inputs,
            labels,
            generator=torch.Generator().manual_seed(1))
    other = attack(
        recognizer, inputs, labels, generator=torch.Generator().manual_seed(2))
    for m in inputs:
        assert torch.equal(adv[m], ref[m])
        assert not torch.equal(other[m], ref[m])
    assert mean_loss(recognizer, adv,
                     labels) > mean_loss(recognizer, inputs, labels)


@pytest.mark.parametrize('best_iterate', [False, True])
def test_a_sample_is_attacked_independently_of_the_others(best_iterate):
    """Same batch size (so the same float kernels), other samples
    replaced: sample 0's adversarial example is bit-identical."""
    model = build_recognizer()
    attack = PGD(
        eps=EPS,
        alpha=ALPHA,
        steps=3,
        random_start=False,
        best_iterate=best_iterate)
    labels = torch.tensor([0, 1, 2])
    inputs = make_inputs(n=3, seed=0)
    others = make_inputs(n=3, seed=1)
    mixed = {m: torch.cat([inputs[m][:1], others[m][1:]]) for m in inputs}
    a = attack(model, inputs, labels)
    b = attack(model, mixed, torch.tensor([0, 4, 3]))
    for m in inputs:
        assert torch.equal(a[m][0], b[m][0])
    # Alone, in float64 (batch-size-dependent kernels round differently in
    # float32, which can flip the sign of near-zero gradients).
    model.double()
    inputs = {m: x.double() for m, x in inputs.items()}
    a = attack(model, inputs, labels)
    for i in range(3):
        alone = attack(model, {
            m: x[i:i + 1]
            for m, x in inputs.items()
        }, labels[i:i + 1])
        for m in inputs:
            assert torch.equal(alone[m][0], a[m][i])


@pytest.mark.parametrize('modality', ['rgb', 'skeleton'])
def test_unimodal_models_are_attacked_on_their_modality(modality):
    model = build_recognizer(
        rgb=modality == 'rgb', skeleton=modality == 'skeleton')
    inputs = {modality: make_inputs(n=2)[modality]}
    labels = torch.tensor([0, 1])
    adv = PGD(
        eps=EPS, alpha=ALPHA, steps=2, targets=modality)(model, inputs, labels)
    assert set(adv) == {modality}
    delta = (adv[modality] - inputs[modality]).abs().max()
    assert EPS[modality] / 2 <= delta <= EPS[modality] + TOL
