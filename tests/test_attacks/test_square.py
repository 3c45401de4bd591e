# Copyright (c) mmamr contributors. All rights reserved.
"""The Square attack: the reference's schedule and windows, scores only,
and it breaks a model that the strongest noise of its budget does not."""
import pytest
import torch
from noisy_classes import (SIGNAL, accuracy, correct, make_data,
                           sample_generators, trained)

from mmamr.attacks import Square, square
from mmamr.attacks.square import UniformStream, channel_dim, p_selection

# Images, where the windows are the paper's squares.
SHAPES = dict(rgb=(3, 8, 8))
EPS = dict(rgb=SIGNAL / 2)


@pytest.fixture(scope='module')
def setup():
    model = trained(SHAPES)
    inputs, labels = make_data(200, seed=2, shapes=SHAPES)
    return model, inputs, labels


def test_window_fraction_follows_the_references_schedule():
    # Halved after 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of
    # 10,000 queries; rescaled to other query counts.
    expected = {
        0: 1,
        10: 1,
        11: 2,
        50: 2,
        51: 4,
        200: 4,
        201: 8,
        500: 8,
        501: 16,
        1000: 16,
        1001: 32,
        2001: 64,
        4001: 128,
        6001: 256,
        8001: 512,
        9999: 512
    }
    for it, divisor in expected.items():
        assert p_selection(0.8, it, 10000) == pytest.approx(0.8 / divisor)
    assert p_selection(0.8, 2, 1000) == pytest.approx(0.4)  # it 20 of 10k


@pytest.mark.parametrize('modality,shape', [('rgb', (2, 1, 3, 4, 16, 16)),
                                            ('rgb', (2, 3, 16, 16)),
                                            ('skeleton', (2, 1, 2, 8, 25, 3))])
def test_window_is_a_box_at_a_vertex(modality, shape):
    """A window covers about ``p`` of the positions as a box (the same
    side fraction on every axis), with one ±2ε sign per channel."""
    attack = Square(eps={modality: 0.125}, targets=modality)
    x = torch.zeros(shape)
    cdim = channel_dim(modality, x)
    width = attack.draws_per_window(modality, x)
    uniform = torch.rand(2, width, generator=torch.Generator().manual_seed(0))
    p = 0.3
    window = attack.window(modality, x, p, uniform)
    for delta in window:
        assert set(delta.unique().abs().tolist()) <= {0., 0.25}
        per_channel = delta.movedim(cdim - 1, 0)
        assert all(len(c[c != 0].unique()) == 1 for c in per_channel)
        hit = (delta != 0).any(cdim - 1)
        axes = [d for d in range(1, x.dim()) if d != cdim]
        sizes = [x.shape[d] for d in axes]
        sides = [min(max(round(n * p**(1 / len(axes))), 1), n) for n in sizes]
        assert int(hit.sum()) == int(torch.tensor(sides).prod())
        # A box: its extent along each axis is the side.
        for k in range(hit.dim()):
            span = hit.movedim(k, 0).flatten(1).any(1).nonzero()
            assert int(span.max() - span.min() + 1) == sides[k]


def test_square_never_asks_for_gradients(setup):
    model, inputs, labels = setup
    calls = []

    def scores_only(x):
        assert not torch.is_grad_enabled()
        assert not any(v.requires_grad for v in x.values())
        calls.append(1)
        return model(x)

    square(
        scores_only,
        inputs,
        labels,
        eps=EPS,
        queries=20,
        targets='rgb',
        generator=sample_generators(200))
    # The clean check, the stripes and at most one forward per query.
    assert 2 < len(calls) <= 2 + 20


def test_square_breaks_a_model_that_noise_does_not(setup):
    model, inputs, labels = setup
    gen = torch.Generator().manual_seed(1)
    # The strongest noise of the budget: every coordinate at ±ε.
    noisy = dict(
        rgb=inputs['rgb'] + EPS['rgb'] *
        (torch.randint(0, 2, inputs['rgb'].shape, generator=gen) * 2 - 1))
    adv = Square(
        eps=EPS, queries=300, targets='rgb')(
            model, inputs, labels, generator=sample_generators(200))
    assert (adv['rgb'] - inputs['rgb']).abs().max() <= EPS['rgb'] + 1e-6
    assert accuracy(model, adv, labels) < accuracy(model, noisy, labels)
    # Robust only where it was correct to begin with.
    assert not (correct(model, adv, labels)
                & ~correct(model, inputs, labels)).any()


def test_a_sample_is_attacked_alike_alone_and_in_a_batch(setup):
    model, inputs, labels = setup
    attack = Square(eps=EPS, queries=100, targets='rgb')
    batch = attack(model, dict(rgb=inputs['rgb'][:16]), labels[:16], None,
                   sample_generators(16))
    for i in (3, 11):
        alone = attack(model, dict(rgb=inputs['rgb'][i:i + 1]),
                       labels[i:i + 1], None,
                       sample_generators(16)[i:i + 1])
        assert torch.allclose(alone['rgb'], batch['rgb'][i:i + 1])


def test_uniform_stream_depends_on_the_sample_only():
    gens = sample_generators(3)
    like = torch.zeros(())
    stream = UniformStream(gens, 3, 2, like, block=4)
    full = [stream.next(torch.arange(3)) for _ in range(6)]
    # Sample 1 alone, its own generator: the same numbers.
    alone = UniformStream(sample_generators(3)[1:2], 1, 2, like, block=4)
    for row in full:
        assert torch.equal(alone.next(torch.arange(1))[0], row[1])


def test_restarts_only_add_successes(setup):
    model, inputs, labels = setup
    one = Square(eps=EPS, queries=50, targets='rgb')
    three = Square(eps=EPS, queries=50, restarts=3, targets='rgb')
    left_one = correct(
        model, one(model, inputs, labels, None, sample_generators(200)),
        labels)
    left_three = correct(
        model, three(model, inputs, labels, None, sample_generators(200)),
        labels)
    assert not (left_three & ~left_one).any()


@pytest.mark.parametrize('kwargs,message', [(dict(queries=0), 'queries=0'),
                                            (dict(p_init=0), 'p_init=0'),
                                            (dict(restarts=0), 'restarts=0')])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Square(**kwargs)
