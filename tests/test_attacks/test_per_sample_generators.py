# Copyright (c) mmamr contributors. All rights reserved.
"""Random starts drawn per sample: a sample's start and attack do not
depend on the batch it is in."""
import pytest
import torch
from attack_testing import build_recognizer, make_inputs

from mmamr.attacks import CW, FGSM, PGD
from mmamr.attacks.budget import project

EPS = dict(rgb=8 / 255, skeleton=8 / 255)
ALPHA = dict(rgb=2 / 255, skeleton=2 / 255)


def generators(n, seed=0):
    return [torch.Generator().manual_seed(seed + i) for i in range(n)]


@pytest.mark.parametrize('targets', ['rgb', 'skeleton', 'both'])
def test_per_sample_start_is_the_start_of_the_sample_alone(targets):
    """Each sample's generator draws that sample's slice of each modality,
    in the modalities' order, exactly as when the sample is alone."""
    attack = PGD(eps=EPS, targets=targets)
    clean = {
        m: x
        for m, x in make_inputs(n=3).items() if m in attack.modalities
    }
    batch_gens, alone_gens = generators(3), generators(3)
    start = attack.init_point(clean, batch_gens)
    for i, gen in enumerate(alone_gens):
        alone = attack.init_point({
            m: x[i:i + 1]
            for m, x in clean.items()
        }, gen)
        for m in clean:
            assert torch.equal(start[m][i:i + 1], alone[m])
    # Both consumed the same random numbers.
    for a, b in zip(batch_gens, alone_gens):
        assert torch.equal(a.get_state(), b.get_state())


def test_one_generator_draws_the_whole_batch():
    attack = PGD(eps=EPS)
    clean = make_inputs(n=2)
    start = attack.init_point(clean, torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    for m, x in clean.items():
        delta = (2 * torch.rand(x.shape, generator=gen) - 1) * EPS[m]
        assert torch.equal(start[m], project(x + delta, x, EPS[m], m))


@pytest.mark.parametrize('attack_cls', [PGD, CW])
def test_attack_with_per_sample_generators_is_the_attack_of_each_sample(
        attack_cls):
    """In float64 (float32 kernels of other batch sizes round
    differently), attacking the batch with one generator per sample is
    bit-identical to attacking each sample alone with its generator."""
    model = build_recognizer().double()
    inputs = {m: x.double() for m, x in make_inputs(n=3).items()}
    labels = torch.tensor([0, 1, 2])
    attack = attack_cls(eps=EPS, alpha=ALPHA, steps=2, random_start=True)
    adv = attack(model, inputs, labels, generator=generators(3))
    for i, gen in enumerate(generators(3)):
        alone = attack(
            model, {
                m: x[i:i + 1]
                for m, x in inputs.items()
            },
            labels[i:i + 1],
            generator=gen)
        for m in inputs:
            assert torch.equal(adv[m][i:i + 1], alone[m])
    # The starts are random: other generators move them.
    other = attack(model, inputs, labels, generator=generators(3, seed=9))
    assert not torch.equal(other['rgb'], adv['rgb'])


def test_attacks_without_random_start_leave_the_generators_alone():
    model = build_recognizer()
    inputs, labels = make_inputs(n=2), torch.tensor([0, 1])
    gens = generators(2)
    states = [g.get_state() for g in gens]
    FGSM(eps=EPS)(model, inputs, labels, generator=gens)
    PGD(eps=EPS, steps=1, random_start=False)(
        model, inputs, labels, generator=gens)
    assert all(torch.equal(s, g.get_state()) for s, g in zip(states, gens))


def test_generators_must_be_one_per_sample():
    model = build_recognizer()
    inputs, labels = make_inputs(n=2), torch.tensor([0, 1])
    attack = PGD(eps=EPS, steps=1)
    with pytest.raises(ValueError, match='3 generators for a batch of 2'):
        attack(model, inputs, labels, generator=generators(3))
    with pytest.raises(TypeError, match='one per sample'):
        attack(model, inputs, labels, generator=[0, 1])
