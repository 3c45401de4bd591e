# Copyright (c) mmamr contributors. All rights reserved.
"""The attack objectives against direct, per-sample computations."""
import pytest
import torch
import torch.nn.functional as F

from mmamr.attacks import ce_objective, cw_objective, margin

# Row 0: all logits negative, the case where a one-hot product picks 0 as
# the runner-up (torchattacks' CW sign bug). Row 1: mixed signs, already
# misclassified. Row 2: a tie for the maximum among the other classes.
LOGITS = torch.tensor([[-5., -1., -3.], [2., 7., -4.], [0.5, 3., 3.]])
LABELS = torch.tensor([0, 0, 2])


def direct_margin(logits, labels):
    out = []
    for z, y in zip(logits.tolist(), labels.tolist()):
        others = [v for j, v in enumerate(z) if j != y]
        out.append(max(others) - z[y])
    return torch.tensor(out)


def test_margin_is_best_other_logit_minus_own_with_negative_logits():
    expected = direct_margin(LOGITS, LABELS)
    assert expected.tolist() == [4., 5., 0.]
    assert torch.equal(margin(LOGITS, LABELS), expected)


def test_margin_on_random_negative_logits():
    gen = torch.Generator().manual_seed(0)
    logits = -10 * torch.rand(64, 7, generator=gen)
    labels = torch.randint(0, 7, (64, ), generator=gen)
    assert torch.allclose(
        margin(logits, labels), direct_margin(logits, labels))


@pytest.mark.parametrize('kappa', [0., 0.5, 4.5, 50.])
def test_cw_objective_clips_the_margin_at_kappa(kappa):
    expected = direct_margin(LOGITS, LABELS).clamp(max=kappa)
    assert torch.equal(cw_objective(LOGITS, LABELS, kappa=kappa), expected)


def test_targeted_cw_objective_is_target_minus_best_other():
    targets = torch.tensor([1, 2, 1])
    # z_t - max_{j != t} z_j, computed by hand for each row.
    expected = torch.tensor([-1. - -3., -4. - 7., 3. - 3.])
    assert torch.equal(
        cw_objective(LOGITS, targets, targeted=True, kappa=50.), expected)
    assert torch.equal(
        cw_objective(LOGITS, targets, targeted=True, kappa=1.),
        expected.clamp(max=1.))


def test_cw_gradient_is_zero_once_confidently_misclassified():
    logits = LOGITS.clone().requires_grad_()
    cw_objective(logits, LABELS, kappa=4.5).sum().backward()
    # Row 1 (margin 5 > 4.5) no longer pulls; row 0 (margin 4) does, on
    # its own logit (-1) and runner-up (index 1) only.
    assert torch.equal(logits.grad[1], torch.zeros(3))
    assert logits.grad[0].tolist() == [-1., 1., 0.]


def test_ce_objective_ascends_away_or_descends_towards():
    ce = F.cross_entropy(LOGITS, LABELS, reduction='none')
    assert torch.equal(ce_objective(LOGITS, LABELS), ce)
    assert torch.equal(ce_objective(LOGITS, LABELS, targeted=True), -ce)


def test_margin_needs_two_classes():
    with pytest.raises(ValueError, match='at least 2 classes'):
        margin(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long))
