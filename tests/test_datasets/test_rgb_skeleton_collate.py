# Copyright (c) mmamr contributors. All rights reserved.
"""rgb_skeleton_collate: the same batch as pseudo_collate after the data
preprocessor, in three storages instead of one per tensor."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from test_rgb_skeleton_dataset import (build, mmaction_scope,  # noqa: F401
                                       pipeline, tiny)

from mmamr.datasets import rgb_skeleton_collate
from mmamr.models import RGBSkeletonRecognizer


def sample(label, rgb_shape=(1, 3, 2, 4, 4)):
    return dict(
        inputs=dict(
            rgb=torch.randint(0, 256, rgb_shape, dtype=torch.uint8),
            skeleton=torch.rand(1, 2, 5, 25, 3)),
        data_samples=ActionDataSample().set_gt_label(label))


def test_stacks_inputs_and_shares_one_label_storage():
    items = [sample(i) for i in range(4)]
    batch = rgb_skeleton_collate(items)
    for m in ('rgb', 'skeleton'):
        assert torch.equal(batch['inputs'][m],
                           torch.stack([s['inputs'][m] for s in items]))
    labels = [s.gt_label for s in batch['data_samples']]
    assert [int(label) for label in labels] == [0, 1, 2, 3]
    assert len({label.untyped_storage().data_ptr() for label in labels}) == 1


def test_inputs_of_different_shapes_stay_a_list():
    items = [sample(0), sample(1, rgb_shape=(1, 3, 2, 4, 6))]
    batch = rgb_skeleton_collate(items)
    assert isinstance(batch['inputs']['rgb'], list)
    assert batch['inputs']['skeleton'].shape == (2, 1, 2, 5, 25, 3)


def test_registered_for_the_runner():
    assert FUNCTIONS.get('rgb_skeleton_collate') is rgb_skeleton_collate


@pytest.mark.parametrize('workers', [0, 1])
def test_preprocessed_batch_equals_pseudo_collate(tiny, workers):  # noqa
    dataset = build(
        split='xsub_train', pipeline=pipeline(test_mode=True), **tiny)
    preprocessor = MODELS.build(
        RGBSkeletonRecognizer.default_data_preprocessor())
    results = []
    for collate in (pseudo_collate, rgb_skeleton_collate):
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=2, num_workers=workers, collate_fn=collate)
        results.append(preprocessor(next(iter(loader)), training=True))
    reference, ours = results
    for m in ('rgb', 'skeleton'):
        assert torch.equal(reference['inputs'][m], ours['inputs'][m])
    assert [int(s.gt_label) for s in ours['data_samples']] == [
        int(s.gt_label) for s in reference['data_samples']
    ] == [0, 1]
