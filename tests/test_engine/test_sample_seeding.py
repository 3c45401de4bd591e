# Copyright (c) mmamr contributors. All rights reserved.
"""Random starts depend on the sample, not on its batch."""
import hashlib

import pytest
import torch
from mmaction.structures import ActionDataSample
from torch import nn

from mmamr.attacks import CW, PGD
from mmamr.engine import sample_generators, sample_key, sample_seed

EPS = dict(rgb=8 / 255, skeleton=8 / 255)


class Linear(nn.Module):
    """Logits linear in both modalities, sample by sample."""
    modalities = ('rgb', 'skeleton')

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.rgb = nn.Linear(3 * 4 * 4, 3)
        self.skeleton = nn.Linear(2 * 5 * 3, 3)

    def forward(self, inputs):
        return (self.rgb(inputs['rgb'].flatten(1)) +
                self.skeleton(inputs['skeleton'].flatten(1)))


def batch(n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = dict(
        rgb=torch.rand(n, 3, 4, 4, generator=gen),
        skeleton=torch.rand(n, 2, 5, 3, generator=gen))
    return inputs, torch.arange(n) % 3


def test_sample_seed_is_stable_and_distinct():
    assert sample_seed(0, 'frame_dir=a') == sample_seed(0, 'frame_dir=a')
    seeds = {sample_seed(s, k) for s in (0, 1) for k in ('a', 'b', 'c')}
    assert len(seeds) == 6
    assert all(0 <= s < 2**63 for s in seeds)
    # SHA-256 of "<seed>:<key>", as documented: the same in every process
    # and session (Python's hash() of a str would not be).
    digest = hashlib.sha256(b'0:frame_dir=a').digest()
    assert sample_seed(
        0, 'frame_dir=a') == int.from_bytes(digest[:8], 'little') >> 1


def test_sample_key_prefers_frame_dir_then_index():
    sample = ActionDataSample()
    sample.set_metainfo(dict(frame_dir='S001C001P001R001A001', sample_idx=3))
    assert sample_key(sample) == 'frame_dir=S001C001P001R001A001'
    sample = ActionDataSample()
    sample.set_metainfo(dict(sample_idx=3))
    assert sample_key(sample) == 'sample_idx=3'
    with pytest.raises(KeyError, match='sample_idx.*meta_keys'):
        sample_key(ActionDataSample())


@pytest.mark.parametrize('attack_cls', [PGD, CW])
def test_start_of_a_sample_ignores_its_batch(attack_cls):
    """Sample ``i`` attacked in a batch equals sample ``i`` attacked alone
    with a plain generator seeded by its key, whatever the batch order."""
    model = Linear()
    inputs, labels = batch()
    keys = [f'clip{i}' for i in range(4)]
    attack = attack_cls(eps=EPS, steps=2, random_start=True)
    adv = attack(model, inputs, labels, generator=sample_generators(7, keys))
    order = [2, 0, 3, 1]
    shuffled = attack(
        model, {
            m: x[order]
            for m, x in inputs.items()
        },
        labels[order],
        generator=sample_generators(7, [keys[i] for i in order]))
    for j, i in enumerate(order):
        alone = attack(
            model, {
                m: x[i:i + 1]
                for m, x in inputs.items()
            },
            labels[i:i + 1],
            generator=torch.Generator().manual_seed(sample_seed(7, keys[i])))
        for m in inputs:
            torch.testing.assert_close(adv[m][i:i + 1], alone[m])
            torch.testing.assert_close(shuffled[m][j], adv[m][i])
    # The start is random: another seed moves it.
    other = attack(model, inputs, labels, generator=sample_generators(8, keys))
    assert not torch.equal(other['rgb'], adv['rgb'])


def test_sample_generators_are_seeded_cpu_generators_in_key_order():
    gens = sample_generators(7, ['a', 'b'])
    assert [g.device.type for g in gens] == ['cpu', 'cpu']
    for gen, key in zip(gens, ['a', 'b']):
        expected = torch.Generator().manual_seed(sample_seed(7, key))
        assert torch.equal(
            torch.rand(3, generator=gen), torch.rand(3, generator=expected))


def test_generator_count_must_match_batch():
    attack = PGD(eps=EPS, steps=1)
    inputs, labels = batch()
    with pytest.raises(ValueError, match='3 generators for a batch of'):
        attack(
            Linear(),
            inputs,
            labels,
            generator=sample_generators(0, ['a', 'b', 'c']))
