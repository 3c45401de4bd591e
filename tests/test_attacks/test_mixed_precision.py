# Copyright (c) mmamr contributors. All rights reserved.
"""Attacks are exactly as strong under autocast (``--amp``) as in fp32
(DESIGN.md D8).

mmengine's ``AmpOptimWrapper`` runs the whole training loss under
``torch.autocast``, so the training attack is called inside it. CUDA is
not needed to show the problem: CPU autocast in bfloat16 (and float16)
goes through the same dispatch, and the negative controls below run the
attack with its fix switched off to show that the comparison can fail.
"""
import contextlib
import copy

import pytest
import torch
from attack_testing import LinearModel
from mmaction.structures import ActionDataSample

import mmamr.attacks.base as attack_base
from mmamr.attacks import CW, FGSM, PGD
from mmamr.models import AdversarialTraining

ATTACKS = (FGSM, PGD, CW)


def make_attack(cls, targets):
    # Few steps keep the test fast; random start off, so that both calls
    # start from the clean point.
    kwargs = dict() if cls is FGSM else dict(steps=3, random_start=False)
    return cls(targets=targets, **kwargs)


@pytest.fixture
def without_the_fix(monkeypatch):
    """The attack as it was before D8: it runs in the caller's autocast."""
    monkeypatch.setattr(attack_base, 'full_precision',
                        lambda inputs: contextlib.nullcontext())


@pytest.mark.parametrize('targets', ['both', 'rgb', 'skeleton'])
@pytest.mark.parametrize('cls', ATTACKS)
def test_examples_under_bf16_autocast_equal_the_fp32_ones(
        recognizer, inputs, labels, cls, targets):
    attack = make_attack(cls, targets)
    reference = attack(recognizer, inputs, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mixed = attack(recognizer, inputs, labels)
    for modality in inputs:
        assert mixed[modality].dtype == torch.float32
        # The same float32 computation: equal up to summation order.
        torch.testing.assert_close(
            mixed[modality], reference[modality], rtol=0, atol=1e-6)


@pytest.mark.parametrize('cls', ATTACKS)
def test_without_the_fix_bf16_changes_the_examples(recognizer, inputs, labels,
                                                   cls, without_the_fix):
    attack = make_attack(cls, 'both')
    reference = attack(recognizer, inputs, labels)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mixed = attack(recognizer, inputs, labels)
    changed = (mixed['rgb'] - reference['rgb']).abs() > 1e-6
    # Measured: 13% (FGSM) to 65% (PGD-5) of the RGB values.
    assert changed.float().mean() > 0.01


def confident_linear_model():
    """Class 0 wins every input by a logit margin of about 30: the other
    classes' softmax probabilities (about 1e-13), hence the input
    gradient, are far above float32's smallest number but below
    float16's (6e-8)."""
    torch.manual_seed(0)
    model = LinearModel(dict(rgb=(3, 4, 4), skeleton=(2, 5, 3)))
    with torch.no_grad():
        for fc in model.fc.values():
            fc.weight.mul_(0.1)
            fc.bias.copy_(torch.tensor([15., 0., 0., 0.]))
    return model


def confident_inputs():
    gen = torch.Generator().manual_seed(0)
    # RGB away from 0 and 1, so that a full step is never clamped.
    return dict(
        rgb=0.2 + 0.6 * torch.rand(6, 3, 4, 4, generator=gen),
        skeleton=torch.rand(6, 2, 5, 3, generator=gen))


def test_fp16_autocast_gradients_do_not_underflow():
    model, inputs = confident_linear_model(), confident_inputs()
    labels = torch.zeros(6, dtype=torch.long)
    attack = FGSM()
    with torch.autocast('cpu', dtype=torch.float16):
        adv = attack(model, inputs, labels)
    for modality, x in inputs.items():
        # Every value takes its full signed step of ε = 8/255.
        torch.testing.assert_close((adv[modality] - x).abs(),
                                   torch.full_like(x, 8 / 255))
        torch.testing.assert_close(adv[modality],
                                   attack(model, inputs, labels)[modality])


def test_without_the_fix_fp16_gradients_underflow(without_the_fix):
    model, inputs = confident_linear_model(), confident_inputs()
    labels = torch.zeros(6, dtype=torch.long)
    with torch.autocast('cpu', dtype=torch.float16):
        adv = FGSM()(model, inputs, labels)
    # The input gradient is 0 in fp16: sign 0, no step, a silently
    # weaker (here: no) attack.
    for modality, x in inputs.items():
        assert torch.equal(adv[modality], x)


def test_half_precision_inputs_are_attacked_in_float32(recognizer, inputs,
                                                       labels):
    attack = make_attack(PGD, 'both')
    reference = attack(recognizer, inputs, labels)
    halves = {m: x.to(torch.bfloat16) for m, x in inputs.items()}
    adv = attack(recognizer, halves, labels)
    # Within the budget around the bf16 clean inputs, computed in float32.
    for modality, x in halves.items():
        assert adv[modality].dtype == torch.float32
        assert (adv[modality] - x.float()).abs().max() <= 8 / 255 + 1e-6
    assert reference['rgb'].dtype == torch.float32


class RecordingAttack(PGD):
    """PGD that keeps what it returned."""

    def __call__(self, *args, **kwargs):
        self.returned = super().__call__(*args, **kwargs)
        return self.returned


def adversarial_examples_of_the_objective(recognizer, inputs, labels):
    """What the AMR objective's attack returns in fp32 and under fp16
    autocast, each on a fresh copy of ``recognizer``."""
    attack = RecordingAttack(steps=2, random_start=False)
    objective = AdversarialTraining('amr', attack, lam=1.0)
    samples = [ActionDataSample().set_gt_label(int(y)) for y in labels]
    returned = dict()
    for precision in ('float32', 'float16'):
        # A fresh copy each time: the training forwards update the
        # BatchNorm statistics that the next attack would run on.
        model = copy.deepcopy(recognizer).train()
        # As AmpOptimWrapper.optim_context runs the loss on a GPU (float16
        # by default).
        with torch.autocast(
                'cpu', dtype=torch.float16, enabled=precision == 'float16'):
            losses = objective.loss(model, inputs, samples)
        assert all(torch.isfinite(v).all() for v in losses.values())
        returned[precision] = attack.returned
    return returned['float32'], returned['float16']


def test_training_objective_under_autocast_trains_on_fp32_examples(
        recognizer, inputs, labels):
    reference, mixed = adversarial_examples_of_the_objective(
        recognizer, inputs, labels)
    for modality in inputs:
        torch.testing.assert_close(
            mixed[modality], reference[modality], rtol=0, atol=1e-6)


def test_without_the_fix_the_objective_trains_on_other_examples(
        recognizer, inputs, labels, without_the_fix):
    reference, mixed = adversarial_examples_of_the_objective(
        recognizer, inputs, labels)
    changed = (mixed['rgb'] - reference['rgb']).abs() > 1e-6
    assert changed.float().mean() > 0.01
