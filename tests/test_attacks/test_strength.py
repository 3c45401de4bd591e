# Copyright (c) mmamr contributors. All rights reserved.
"""The attacks are not weak: they break a fitted model where noise of the
same size does not, and targeted attacks reach their targets."""
import pytest
import torch
from torch import nn

from mmamr.attacks import CW, FGSM, PGD

NUM, K = 8, 4
SHAPES = dict(rgb=(3, 8, 16, 16), skeleton=(2, 16, 25, 3))
# Half the budget of the paper's 8/255, and exactly the class signal of
# the data below: an attack has to find the class pattern, noise cannot.
EPS = dict(rgb=4 / 255, skeleton=4 / 255)
ALPHA = dict(rgb=1 / 255, skeleton=1 / 255)


class SmallNet(nn.Module):
    """A tiny two-stream net on dict inputs: RGB ``[N, 3, 8, 16, 16]`` by
    a conv layer, skeleton ``[N, 2, 16, 25, 3]`` by an MLP, late fusion
    by a linear layer. Inputs are normalised inside, as the recognizer
    does, with mean 0.5 and std 0.25."""

    modalities = ('rgb', 'skeleton')

    def __init__(self):
        super().__init__()
        self.rgb = nn.Sequential(
            nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(4 * 8 * 16 * 16, 16), nn.ReLU())
        self.skeleton = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * 16 * 25 * 3, 16), nn.ReLU())
        self.fc = nn.Linear(16 + 16, K)

    def forward(self, inputs):
        feats = [
            branch((inputs[m] - 0.5) / 0.25)
            for m, branch in (('rgb', self.rgb),
                              ('skeleton', self.skeleton))
        ]
        return self.fc(torch.cat(feats, 1))


def data(seed=0):
    """8 samples of 4 classes: grey, plus a faint class pattern (±4/255
    on every coordinate) and fainter noise (up to ±2/255).

    Like real data, the classes differ by a little on many coordinates,
    the regime where small L∞ perturbations flip decisions. (Uniformly
    random inputs would not do: a classifier fitting 8 of them separates
    them by an L∞ distance of about 1/3, beyond any small budget.)
    """
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(NUM) % K
    inputs = dict()
    for m, shape in SHAPES.items():
        patterns = torch.randint(0, 2, (K, *shape), generator=gen) * 2 - 1
        noise = torch.rand(NUM, *shape, generator=gen) * 2 - 1
        inputs[m] = 0.5 + 4 / 255 * patterns[labels] + 2 / 255 * noise
    return inputs, labels


def accuracy(model, inputs, labels):
    with torch.no_grad():
        return (model(inputs).argmax(1) == labels).float().mean().item()


def fitted(model, inputs, labels, steps=50):
    """A few Adam steps: 100% training accuracy, confidence > 0.9."""
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        optim.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        probs = model(inputs).softmax(1)
    assert (probs.argmax(1) == labels).all() and (probs.max(1)[0] > .9).all()
    return model


@pytest.fixture(scope='module')
def small_net():
    torch.manual_seed(0)
    inputs, labels = data()
    return fitted(SmallNet(), inputs, labels), inputs, labels


@pytest.mark.parametrize('attack', [
    FGSM(eps=EPS),
    PGD(eps=EPS, alpha=ALPHA, steps=10),
    CW(eps=EPS, alpha=ALPHA, steps=10),
    PGD(eps=EPS, alpha=ALPHA, steps=10, targets='rgb'),
],
                         ids=['FGSM', 'PGD', 'CW', 'PGD-rgb'])
def test_attack_breaks_a_fitted_model_where_noise_does_not(
        small_net, attack):
    model, inputs, labels = small_net
    gen = torch.Generator().manual_seed(0)
    # The strongest noise of the budget: every coordinate at ±ε.
    noisy = {
        m: x + EPS[m] * (torch.randint(0, 2, x.shape, generator=gen) * 2 -
                         1)
        for m, x in inputs.items()
    }
    assert accuracy(model, noisy, labels) == 1
    adv = attack(model, inputs, labels)
    assert accuracy(model, adv, labels) == 0


@pytest.mark.parametrize('attack_type', [PGD, CW])
def test_targeted_attack_reaches_the_targets(small_net, attack_type):
    model, inputs, labels = small_net
    targets = (labels + 1 + torch.arange(NUM) // K) % K
    assert not (targets == labels).any()
    attack = attack_type(
        eps=dict(rgb=8 / 255, skeleton=8 / 255),
        alpha=ALPHA,
        steps=20,
        targeted=True)
    adv = attack(model, inputs, labels, targets)
    with torch.no_grad():
        assert torch.equal(model(adv).argmax(1), targets)
