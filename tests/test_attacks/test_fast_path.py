# Copyright (c) mmamr contributors. All rights reserved.
"""The fast path of single-modality attacks equals the full computation."""
import pytest
import torch
import torch.nn.functional as F
from attack_testing import build_recognizer, make_inputs
from torch import nn

from mmamr.attacks import CW, PGD, can_split

EPS = dict(rgb=6 / 255, skeleton=10 / 255)
ALPHA = dict(rgb=2 / 255, skeleton=4 / 255)


class ScaleEach(nn.Module):
    """Per-modality reweighting between stages, like AMR's."""

    couples_modalities = False

    def forward(self, maps):
        return {m: 2 * x for m, x in maps.items()}


class SwapEnergy(nn.Module):
    """Mixes the branches between stages (like a lateral connection)."""

    def forward(self, maps):
        rgb, skel = maps['rgb'], maps['skeleton']
        return dict(rgb=rgb + skel.mean(), skeleton=skel + rgb.mean())


def spy_branch_features(model):
    """Record the ``modalities`` argument of every branch_features call."""
    calls, original = [], model.branch_features

    def spy(inputs, modalities=None):
        calls.append(None if modalities is None else tuple(modalities))
        return original(inputs, modalities)

    model.branch_features = spy
    return calls


@pytest.mark.parametrize('between', [None, ScaleEach])
@pytest.mark.parametrize('targets', ['rgb', 'skeleton'])
@pytest.mark.parametrize('attack_type', [PGD, CW])
def test_fast_path_gives_the_same_adversarial_examples(
        between, targets, attack_type):
    model = build_recognizer()
    if between is not None:
        model.add_between_stages(1, between())
    inputs = make_inputs(n=3, views=2)
    labels = torch.tensor([0, 1, 2])
    other = 'rgb' if targets == 'skeleton' else 'skeleton'
    results = []
    for fast in (True, False):
        calls = spy_branch_features(model)
        attack = attack_type(
            eps=EPS, alpha=ALPHA, steps=3, targets=targets, fast_path=fast)
        results.append(
            attack(model, inputs, labels,
                   generator=torch.Generator().manual_seed(0)))
        if fast:
            # The other branch once, without grad; then the attacked one.
            assert calls == [(other, )] + [(targets, )] * 3
        else:
            assert calls == [None] * 3
        del model.branch_features
    for m in inputs:
        assert torch.equal(results[0][m], results[1][m])
    assert not torch.equal(results[0][targets], inputs[targets])


def test_coupled_branches_take_the_full_path_and_still_work():
    model = build_recognizer()
    model.add_between_stages(2, SwapEnergy())
    assert not can_split(model, ['skeleton'])
    inputs = make_inputs(n=2)
    labels = torch.tensor([0, 1])
    calls = spy_branch_features(model)
    adv = PGD(eps=EPS, alpha=EPS, steps=1, random_start=False,
              targets='skeleton')(model, inputs, labels)
    assert calls == [None]
    del model.branch_features
    # One full step: the signed gradient of the coupled model.
    skel = inputs['skeleton'].clone().requires_grad_()
    logits = model(dict(rgb=inputs['rgb'], skeleton=skel))
    F.cross_entropy(logits, labels, reduction='sum').backward()
    expected = inputs['skeleton'] + EPS['skeleton'] * skel.grad.sign()
    assert torch.allclose(adv['skeleton'], expected, atol=1e-6, rtol=0)
    assert torch.equal(adv['rgb'], inputs['rgb'])


def test_when_the_fast_path_applies():
    model = build_recognizer()
    assert can_split(model, ['rgb']) and can_split(model, ['skeleton'])
    # Both branches attacked: nothing to reuse.
    assert not can_split(model, ['rgb', 'skeleton'])
    # A plain callable has no branches.
    assert not can_split(lambda x: model(x), ['rgb'])
    # A unimodal model: its only branch is attacked.
    assert not can_split(build_recognizer(skeleton=False), ['rgb'])


def test_data_parallel_wrappers_are_unwrapped():
    model = build_recognizer()
    calls = spy_branch_features(model)
    inputs = make_inputs(n=2)
    PGD(steps=1, targets='skeleton')(
        nn.DataParallel(model), inputs, torch.tensor([0, 1]))
    # The fast path needs the recognizer itself, not the wrapper.
    assert calls == [('rgb', ), ('skeleton', )]
