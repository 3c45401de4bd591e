# Copyright (c) mmamr contributors. All rights reserved.
"""Restarts and the best iterate of PGD and CW: the reported accuracy is
the per-sample worst case over restarts and iterations."""
import pytest
import torch
import torch.nn.functional as F
from attack_testing import build_recognizer, make_inputs

from mmamr.attacks import CW, FGSM, PGD
from mmamr.attacks.pgd import keep_best

N = 8
# A budget at which the fitted model below is broken on some samples
# and not on others by one PGD-3 run (the test checks that it is).
EPS = dict(rgb=1 / 255, skeleton=1 / 255)
ALPHA = dict(rgb=0.25 / 255, skeleton=0.25 / 255)
CLASSES = dict(PGD=PGD, CW=CW)


@pytest.fixture(scope='module')
def fitted():
    """The tiny I3D + HCN fitted to 8 random clips (100% clean accuracy),
    so that robust accuracy starts from every sample correct."""
    model = build_recognizer()
    inputs = make_inputs(n=N)
    labels = torch.arange(N) % 5
    optim = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        optim.zero_grad()
        F.cross_entropy(model(inputs), labels).backward()
        optim.step()
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(inputs).argmax(1), labels)
    return model, inputs, labels


def generators(seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(N)]


def broken(model, adv, labels):
    with torch.no_grad():
        return model(adv).argmax(1) != labels


@pytest.mark.parametrize('kind,targets', [('PGD', 'rgb'), ('CW', 'both')])
def test_restarts_never_raise_robust_accuracy_sample_by_sample(
        fitted, kind, targets):
    """The first restart is the single run's draw, so a sample broken by
    one run stays broken with 4 restarts, with or without the best
    iterate; and the best iterate of one run keeps the last iterate's
    successes."""
    model, inputs, labels = fitted
    runs = dict()
    for restarts, best in ((1, False), (1, True), (4, False), (4, True)):
        attack = CLASSES[kind](
            eps=EPS,
            alpha=ALPHA,
            steps=3,
            targets=targets,
            restarts=restarts,
            best_iterate=best)
        adv = attack(model, inputs, labels, generator=generators())
        runs[restarts, best] = broken(model, adv, labels)
    one = runs[1, False]
    # Not vacuous: one run breaks some samples and not all.
    assert one.any() and not one.all(), one
    for key, hits in runs.items():
        assert (hits | ~one).all(), (key, one, hits)
    assert (runs[4, True] | ~runs[1, True]).all()
    assert (runs[4, True] | ~runs[4, False]).all()


@pytest.mark.parametrize('best_iterate', [False, True])
def test_restarts_keep_per_sample_the_worst_of_the_single_runs(
        fitted, best_iterate):
    """Reference computation: restart ``r`` equals a single run with the
    same generators after ``r - 1`` earlier runs (each sample's stream
    continues), and the result holds, per sample, a run's point that
    fools the model if any does, the highest-loss one otherwise."""
    model, inputs, labels = fitted
    kwargs = dict(eps=EPS, alpha=ALPHA, steps=3, best_iterate=best_iterate)
    adv = PGD(
        restarts=3, **kwargs)(
            model, inputs, labels, generator=generators())
    gens = generators()
    single = PGD(**kwargs)
    candidates = [
        single(model, inputs, labels, generator=gens) for _ in range(3)
    ]
    with torch.no_grad():
        logits = [model(c) for c in candidates]
    fooled = torch.stack([z.argmax(1) != labels for z in logits])
    loss = torch.stack(
        [F.cross_entropy(z, labels, reduction='none') for z in logits])
    picks = []
    for i in range(N):
        pool = fooled[:, i].nonzero().flatten().tolist() or [0, 1, 2]
        picks.append(max(pool, key=lambda r: (loss[r, i].item(), -r)))
        for m in inputs:
            assert torch.equal(adv[m][i], candidates[picks[-1]][m][i]), i
    # Not vacuous: the pick is not always the first restart.
    assert set(picks) != {0}, picks


def test_best_iterate_prefers_any_success_then_the_highest_loss(fitted):
    """No random start: the runs of 0..3 steps are prefixes of each
    other, so the best iterate of K steps is judged against every
    earlier iterate: it fools the model iff one of them does, and
    otherwise has at least each one's loss."""
    model, inputs, labels = fitted
    kwargs = dict(eps=EPS, alpha=ALPHA, random_start=False)

    def judged(adv):
        with torch.no_grad():
            logits = model(adv)
        return (logits.argmax(1)
                != labels, F.cross_entropy(logits, labels, reduction='none'))

    last = [
        judged(PGD(steps=k, **kwargs)(model, inputs, labels)) for k in range(4)
    ]
    for k in range(4):
        fooled, loss = judged(
            PGD(steps=k, best_iterate=True, **kwargs)(model, inputs, labels))
        any_fooled = torch.stack([f for f, _ in last[:k + 1]]).any(0)
        assert torch.equal(fooled, any_fooled), k
        for _, earlier in last[:k + 1]:
            assert (fooled | (loss >= earlier - 1e-5)).all(), k
    assert any_fooled.any() and not any_fooled.all()


def test_a_point_that_fools_the_model_beats_any_loss():
    """The rule of keep_best, case by case: cross-entropy can be higher
    at a correctly classified point (flat logits) than at a
    misclassified one (two close top logits), and the reported accuracy
    needs the misclassified one."""
    points = [{'x': torch.full((3, 2), float(i))} for i in range(3)]
    best = keep_best(None, points[0], torch.tensor([2., .5, 1.]),
                     torch.tensor([False, True, False]))
    best = keep_best(best, points[1], torch.tensor([1., 3., 1.]),
                     torch.tensor([True, True, False]))
    # Fooling beats a higher loss; among fooling points the higher loss
    # wins; a tie keeps the earlier point.
    assert best['inputs']['x'][:, 0].tolist() == [1., 1., 0.]
    assert best['fooled'].tolist() == [True, True, False]
    best = keep_best(best, points[2], torch.tensor([9., 9., 0.]),
                     torch.tensor([False, False, True]))
    assert best['inputs']['x'][:, 0].tolist() == [1., 1., 2.]
    assert best['loss'].tolist() == [1., 3., 0.]
    assert best['fooled'].all()


@pytest.mark.parametrize('best_iterate', [False, True])
def test_restarts_are_independent_of_the_batching(best_iterate):
    """In float64 (float32 kernels of other batch sizes round
    differently): with one generator per sample, each sample's restarts
    draw from its own stream, so attacking the batch equals attacking
    each sample alone, and the streams end in the same state."""
    model = build_recognizer().double()
    inputs = {m: x.double() for m, x in make_inputs(n=3).items()}
    labels = torch.tensor([0, 1, 2])
    attack = PGD(
        eps=EPS, alpha=ALPHA, steps=2, restarts=2, best_iterate=best_iterate)
    batch_gens = generators()[:3]
    adv = attack(model, inputs, labels, generator=batch_gens)
    for i, gen in enumerate(generators()[:3]):
        alone = attack(
            model, {
                m: x[i:i + 1]
                for m, x in inputs.items()
            },
            labels[i:i + 1],
            generator=gen)
        for m in inputs:
            assert torch.equal(adv[m][i:i + 1], alone[m])
        assert torch.equal(gen.get_state(), batch_gens[i].get_state())


def test_default_is_the_papers_single_run_with_the_last_iterate(fitted):
    """restarts=1 and no best iterate: the last iterate, bit for bit,
    and one forward/backward per step (no judging forward)."""
    model, inputs, labels = fitted
    calls = []
    handle = model.register_forward_pre_hook(lambda *_: calls.append(1))
    try:
        attack = PGD(eps=EPS, alpha=ALPHA, steps=3)
        assert attack.restarts == 1 and not attack.best_iterate
        attack(model, inputs, labels, generator=generators())
        assert len(calls) == 3
        calls.clear()
        PGD(eps=EPS, alpha=ALPHA, steps=3, restarts=2)(
            model, inputs, labels, generator=generators())
        assert len(calls) == 2 * (3 + 1)
    finally:
        handle.remove()


def test_bad_restarts_are_clear_errors():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match='restarts=.* must be an int'):
            PGD(restarts=bad)
    with pytest.raises(ValueError, match='needs random_start=True'):
        PGD(restarts=2, random_start=False)
    with pytest.raises(ValueError, match='needs random_start=True'):
        FGSM(restarts=2)
