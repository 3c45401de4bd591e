# Copyright (c) mmamr contributors. All rights reserved.
"""Padding is not input (DESIGN.md D7): no attack writes into an absent
body or a padded frame, for 3-D and 2-D skeletons, and the logits cannot
be moved through padding."""
import numpy as np
import pytest
import torch
from attack_testing import SIZE, K, T, V, make_inputs
from mmaction.registry import MODELS, TRANSFORMS
from torch import nn

from mmamr.attacks import CW, FGSM, PGD, Attack
from mmamr.attacks.budget import project
from mmamr.attacks.functional import pgd as functional_pgd
from mmamr.attacks.padding import (keep_padding, padding_as_input,
                                   padding_mask)
from mmamr.utils import init_weights_quietly

EPS = dict(rgb=8 / 255, skeleton=8 / 255)
ALPHA = dict(rgb=2 / 255, skeleton=2 / 255)
PADDED_FRAMES = slice(T - 4, T)


def build_recognizer(channels):
    """The tiny I3D + HCN of attack_testing, with ``channels`` skeleton
    coordinates (3: NTU 3-D; 2: OpenPose 2-D)."""
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type='RGBSkeletonRecognizer',
            rgb_backbone=dict(type='InceptionI3D', width_multiplier=0.125),
            skeleton_backbone=dict(
                type='HCN',
                in_channels=channels,
                base_channels=32,
                clip_len=T,
                fc7_channels=16),
            skeleton_mean=(0.5, ) * channels,
            skeleton_std=(1 / 3, ) * channels,
            cls_head=dict(
                type='FusionHead',
                num_classes=K,
                dropout_ratio=0.5,
                init_std=0.01)))
    init_weights_quietly(model)
    return model.eval()


def padded_inputs(channels, n=4):
    """One person per clip (the second body slot is zero) and no body in
    the last frames, as the converters and FormatSkeletonInput make it."""
    inputs = make_inputs(n=n)
    skeleton = inputs['skeleton'][..., :channels].clone()
    skeleton[:, 1] = 0
    skeleton[:, :, PADDED_FRAMES] = 0
    inputs['skeleton'] = skeleton
    return inputs


def padding_of(skeleton):
    """bool [N, M, T]: the body-frames made padding by padded_inputs."""
    pad = torch.zeros(skeleton.shape[:3], dtype=torch.bool)
    pad[:, 1] = True
    pad[:, :, PADDED_FRAMES] = True
    return pad


class SecondBody(nn.Module):
    """A skeleton model that reads only the second body slot."""
    modalities = ('skeleton', )

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(T * V * 3, K)

    def forward(self, inputs):
        return self.fc(inputs['skeleton'][:, 1].flatten(1))


def second_body_model():
    torch.manual_seed(0)
    return SecondBody()


def all_attacks(targets):
    kwargs = dict(eps=EPS, targets=targets)
    return [
        FGSM(**kwargs),
        PGD(alpha=ALPHA, steps=3, **kwargs),
        PGD(alpha=ALPHA, steps=2, best_iterate=True, restarts=2, **kwargs),
        CW(alpha=ALPHA, steps=3, **kwargs),
        PGD(alpha=ALPHA, steps=2, model_mode='train', **kwargs),
    ]


@pytest.mark.parametrize('channels', [3, 2])
@pytest.mark.parametrize('targets', ['skeleton', 'both'])
def test_every_attack_leaves_padded_bodies_and_frames_exactly_zero(
        channels, targets):
    model = build_recognizer(channels)
    inputs = padded_inputs(channels)
    labels = torch.tensor([0, 1, 2, 3])
    pad = padding_of(inputs['skeleton'])
    for attack in all_attacks(targets):
        adv = attack(model, inputs, labels)['skeleton']
        # Exactly zero, not merely small: HCN tells padding by its value.
        assert (adv[pad] == 0).all(), attack
        # The real body is attacked with the whole budget.
        delta = (adv - inputs['skeleton'])[~pad].abs()
        assert delta.max() >= EPS['skeleton'] / 2, attack
        assert delta.max() <= EPS['skeleton'] + 1e-6, attack


def test_logits_cannot_be_moved_through_padding():
    """A model that reads only the second body slot: on one-person clips
    no attack moves its output; with a person in the slot it does (the
    model is sensitive, so the first check is not vacuous)."""

    model = second_body_model()
    inputs = {'skeleton': padded_inputs(3)['skeleton']}
    labels = torch.tensor([0, 1, 2, 3])
    with torch.no_grad():
        clean = model(inputs)
    two_people = {'skeleton': make_inputs(n=4)['skeleton']}
    for attack in all_attacks('skeleton'):
        adv = attack(model, inputs, labels)
        with torch.no_grad():
            assert torch.equal(model(adv), clean), attack
        moved = attack(model, two_people, labels)
        with torch.no_grad():
            assert not torch.equal(model(moved), model(two_people)), attack


def test_the_functional_api_follows_the_same_rule():
    """No mask to pass: ``pgd(model, inputs, labels, ...)`` on a padded
    batch (with restarts and the best iterate) keeps the padding."""
    model = build_recognizer(3)
    inputs = padded_inputs(3, n=2)
    adv = functional_pgd(
        model,
        inputs,
        torch.tensor([0, 1]),
        eps=EPS,
        alpha=ALPHA,
        steps=2,
        restarts=2,
        best_iterate=True,
        targets='skeleton')
    pad = padding_of(inputs['skeleton'])
    assert (adv['skeleton'][pad] == 0).all()
    assert not torch.equal(adv['skeleton'], inputs['skeleton'])


def test_an_attack_writing_into_padding_is_refused():
    """AutoAttack's hygiene: a subclass that bypasses the projection
    cannot report an example with a ghost body."""

    class Ghost(Attack):

        def perturb(self, forward, clean, labels, generator):
            return {m: x + self.eps[m] for m, x in clean.items()}

    model = build_recognizer(3)
    inputs = padded_inputs(3, n=2)
    with pytest.raises(RuntimeError, match='padding'):
        Ghost(eps=EPS, targets='skeleton')(model, inputs, torch.tensor([0, 1]))


def test_perturb_padding_measures_the_old_threat_model():
    """``perturb_padding=True`` (what ``--perturb-padding`` measures): the
    same attacks write into padding and move the logits through it; the
    rule holds again for every other attack and after the call."""

    model = second_body_model()
    inputs = {'skeleton': padded_inputs(3)['skeleton']}
    labels = torch.tensor([0, 1, 2, 3])
    pad = padding_of(inputs['skeleton'])
    with torch.no_grad():
        clean = model(inputs)
    kwargs = dict(eps=EPS, targets='skeleton', perturb_padding=True)
    for attack in (FGSM(**kwargs), PGD(alpha=ALPHA, steps=3, **kwargs)):
        adv = attack(model, inputs, labels)['skeleton']
        assert (adv[pad] != 0).any(), attack
        assert (adv - inputs['skeleton']).abs().max() <= EPS['skeleton'] + 1e-6
        with torch.no_grad():
            assert not torch.equal(model({'skeleton': adv}), clean), attack
    kept = PGD(
        alpha=ALPHA, steps=3, eps=EPS, targets='skeleton')(model, inputs,
                                                           labels)['skeleton']
    assert (kept[pad] == 0).all()
    with pytest.raises(TypeError, match='perturb_padding'):
        PGD(eps=EPS, perturb_padding='yes')


def test_padding_as_input_is_scoped():
    clean = padded_inputs(3, n=2)['skeleton']
    far = clean + 1
    with padding_as_input():
        with padding_as_input():
            pass
        assert torch.equal(keep_padding(far, clean, 'skeleton'), far)
    with pytest.raises(ValueError):
        with padding_as_input():
            raise ValueError
    assert (keep_padding(far, clean, 'skeleton')[padding_of(clean)] == 0).all()


def test_projection_restores_padding_and_only_for_the_skeleton():
    clean = padded_inputs(3, n=2)
    far = {m: x + 1 for m, x in clean.items()}
    skeleton = project(far['skeleton'], clean['skeleton'], 0.1, 'skeleton')
    pad = padding_of(clean['skeleton'])
    assert (skeleton[pad] == 0).all()
    assert torch.allclose(skeleton[~pad], clean['skeleton'][~pad] + 0.1)
    # RGB has no padding: a black frame is an input like any other.
    rgb = torch.zeros(2, 3, T, SIZE, SIZE)
    assert (project(rgb + 1, rgb, 0.1, 'rgb') == 0.1).all()
    assert torch.equal(keep_padding(rgb + 1, rgb, 'rgb'), rgb + 1)
    # One zero joint of a present body is perturbed (see padding.py).
    one_joint = clean['skeleton'].clone()
    one_joint[0, 0, 0, 3] = 0
    assert not padding_mask(one_joint)[0, 0, 0].any()


def pipeline_output(raw, transform):
    """Skeleton of the runtime pipeline: ``transform`` (a
    NormalizeSkeleton config), then FormatSkeletonInput padding to 2
    bodies; ``[1, 2, T, V, C]``."""
    results = dict(keypoint=raw, img_shape=(480, 640), total_frames=T)
    results = TRANSFORMS.build(transform)(results)
    results = TRANSFORMS.build(dict(type='FormatSkeletonInput', num_person=2))(
        results)
    return torch.from_numpy(results['skeleton'])


@pytest.mark.parametrize('channels,transform', [
    (3, dict(type='NormalizeSkeleton')),
    (2, dict(type='NormalizeSkeleton', center_joint=None, use_img_shape=True))
])
def test_the_pipeline_output_is_its_own_exact_validity_mask(
        channels, transform):
    """The data carries the mask: after NormalizeSkeleton and
    FormatSkeletonInput, the body-frames the rule calls padding are
    exactly the absent ones of the raw keypoints: the missing second
    person and the frames with no body, nothing else. Raw coordinates
    include the values that normalise to 0 on some axes (3-D: -1.5 m
    from the spine; 2-D: pixel column 0) and a missing 2-D joint."""
    rng = np.random.default_rng(0)
    if channels == 3:
        raw = rng.uniform(-1, 1, (1, T, V, 3)).astype(np.float32)
        raw[0, :, 5] = raw[0, 0, 1] + np.float32([-1.5, -1.5, 0.2])
    else:
        raw = rng.uniform(1, 400, (1, T, V, 2)).astype(np.float32)
        raw[0, :, 5, 0] = 0  # on the image's left edge
        raw[0, :, 7] = 0  # an undetected joint
    raw[0, PADDED_FRAMES] = 0
    skeleton = pipeline_output(raw, transform)[None]
    assert skeleton.shape == (1, 1, 2, T, V, channels)
    expected = padding_of(skeleton[0])[None, ..., None, None]
    assert torch.equal(padding_mask(skeleton), expected)
    assert (skeleton[expected.expand_as(skeleton)] == 0).all()
