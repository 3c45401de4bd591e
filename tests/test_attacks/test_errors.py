# Copyright (c) mmamr contributors. All rights reserved.
"""Bad attack configurations and calls fail with clear errors."""
import pytest
import torch
from attack_testing import LinearModel, build_recognizer, make_inputs

from mmamr.attacks import CW, FGSM, PGD

EPS = dict(rgb=8 / 255, skeleton=8 / 255)


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(targets='depth'), ValueError, "targets='depth'"),
    (dict(targets='rgb+skeleton'), ValueError, 'both'),
    (dict(eps=dict(rgb=0.1)), ValueError,
     r"no value for the attacked modalities \['skeleton'\]"),
    (dict(eps=dict(rgb=0.1, skeleton=0.1, depth=0.1)), ValueError,
     r"unknown modalities \['depth'\]"),
    (dict(eps=0.03), TypeError, 'dict keyed by modality'),
    (dict(eps=dict(rgb=-0.1, skeleton=0.1)), ValueError,
     r"eps\['rgb'\]=-0.1 must be"),
    (dict(eps=dict(rgb=float('nan'), skeleton=0.1)), ValueError, 'finite'),
    (dict(alpha=dict(skeleton=0.1), targets='both'), ValueError,
     r"alpha=.* no value .*\['rgb'\]"),
    (dict(alpha=dict(rgb=0.1, sound=0.1)), ValueError,
     r"alpha names unknown modalities \['sound'\]"),
    (dict(steps=-1), ValueError, 'steps=-1'),
    (dict(steps=2.5), ValueError, 'steps=2.5'),
    (dict(model_mode='test'), ValueError, "model_mode='test'"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        PGD(**kwargs)


def test_budget_for_an_unattacked_modality_is_optional():
    attack = PGD(eps=dict(rgb=0.1), alpha=dict(rgb=0.01), targets='rgb')
    assert attack.eps == dict(rgb=0.1)
    FGSM(eps=dict(skeleton=0.1), targets='skeleton')
    with pytest.raises(ValueError, match='kappa'):
        CW(kappa=-1)


@pytest.mark.parametrize('have, attack', [('rgb', 'skeleton'),
                                          ('skeleton', 'rgb'),
                                          ('rgb', 'both')])
def test_attacking_a_modality_the_model_lacks(have, attack):
    model = build_recognizer(rgb=have == 'rgb', skeleton=have == 'skeleton')
    inputs = make_inputs(n=2)
    with pytest.raises(ValueError, match=f"only \\['{have}'\\] branches"):
        FGSM(targets=attack)(model, inputs, torch.tensor([0, 1]))


def test_attacking_a_modality_the_inputs_lack():
    # A plain callable has no `modalities`: the inputs decide.
    inputs = make_inputs(n=2)
    del inputs['skeleton']
    with pytest.raises(ValueError, match=r"inputs hold only \['rgb'\]"):
        FGSM()(lambda x: x['rgb'].flatten(1)[:, :3], inputs,
               torch.tensor([0, 1]))


def model_and_inputs():
    inputs = dict(rgb=torch.rand(2, 3, 2, 2), skeleton=torch.rand(2, 4))
    return LinearModel({m: x.shape[1:] for m, x in inputs.items()}), inputs


@pytest.mark.parametrize('labels, targets, match', [
    ([0, 1], None, 'LongTensor'),
    (torch.tensor([0., 1.]), None, 'LongTensor'),
    (torch.tensor([0, 1, 2]), None, 'N=3 samples'),
    (torch.tensor([[0, 1]]), None, r'LongTensor \[N\]'),
    (torch.tensor([0, 1]), torch.tensor([1, 0]), 'untargeted'),
])
def test_bad_labels(labels, targets, match):
    model, inputs = model_and_inputs()
    with pytest.raises(ValueError, match=match):
        PGD(steps=1)(model, inputs, labels, targets)


def test_targeted_needs_target_labels_of_batch_size():
    model, inputs = model_and_inputs()
    labels = torch.tensor([0, 1])
    with pytest.raises(ValueError, match='needs target_labels'):
        PGD(targeted=True)(model, inputs, labels)
    with pytest.raises(ValueError, match=r'target_labels must be .*N=2'):
        PGD(targeted=True)(model, inputs, labels, torch.tensor([1]))


def test_rgb_outside_unit_range_is_refused():
    model, inputs = model_and_inputs()
    inputs['rgb'] = inputs['rgb'] * 255
    with pytest.raises(ValueError, match=r'expect RGB in \[0, 1\]'):
        FGSM()(model, inputs, torch.tensor([0, 1]))
    # Not attacked, not checked: the skeleton-only attack runs.
    FGSM(targets='skeleton')(model, inputs, torch.tensor([0, 1]))


def test_integer_inputs_are_refused():
    model, inputs = model_and_inputs()
    inputs['rgb'] = (inputs['rgb'] * 255).byte()
    with pytest.raises(TypeError, match='float tensor'):
        FGSM(targets='rgb')(model, inputs, torch.tensor([0, 1]))


@pytest.mark.parametrize('output', [
    lambda x: x['rgb'].flatten(1).sum(1),  # [N]
    lambda x: x['rgb'].flatten(1)[:1],  # [1, K]
    lambda x: [x['rgb'].flatten(1)],  # not a tensor
])
def test_model_must_return_logits_of_shape_n_by_k(output):
    _, inputs = model_and_inputs()
    with pytest.raises(ValueError, match=r'logits \[N=2, K\]'):
        FGSM()(output, inputs, torch.tensor([0, 1]))
