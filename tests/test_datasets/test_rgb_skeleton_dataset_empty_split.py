# Copyright (c) mmamr contributors. All rights reserved.
"""An empty split is an error naming the split and the annotation file
(issue 13), not mmengine's "need at least one array to concatenate"."""
import pickle

import numpy as np
import pytest

from mmamr.datasets.rgb_skeleton_dataset import RGBSkeletonDataset

# Subject 1 is an X-Sub training subject: xsub_val gets nothing, as for
# the tests' tiny synthetic set (tests/test_tools/conftest.py).
NAME = 'S001C001P001R001A001'


def write_ann(tmp_path, split) -> str:
    ann = dict(
        frame_dir=NAME,
        label=0,
        total_frames=4,
        keypoint=np.zeros((2, 4, 25, 3), np.float32))
    path = tmp_path / 'ann.pkl'
    with open(path, 'wb') as f:
        pickle.dump(dict(annotations=[ann], split=split), f)
    return str(path)


def test_empty_split_names_the_split_and_the_file(tmp_path):
    ann_file = write_ann(tmp_path, dict(xsub_train=[NAME], xsub_val=[]))
    with pytest.raises(ValueError) as info:
        RGBSkeletonDataset(
            ann_file, pipeline=[], split='xsub_val', modality='skeleton')
    msg = str(info.value)
    assert "'xsub_val'" in msg and ann_file in msg and 'no sample' in msg
    assert 'concatenate' not in msg


def test_split_of_unknown_samples_says_so(tmp_path):
    ann_file = write_ann(tmp_path, dict(xsub_val=['S001C001P003R001A001']))
    with pytest.raises(ValueError) as info:
        RGBSkeletonDataset(
            ann_file, pipeline=[], split='xsub_val', modality='skeleton')
    msg = str(info.value)
    assert "'xsub_val'" in msg and ann_file in msg
    assert 'none of its 1 samples' in msg


def test_non_empty_split_still_loads(tmp_path):
    ann_file = write_ann(tmp_path, dict(xsub_train=[NAME], xsub_val=[]))
    dataset = RGBSkeletonDataset(
        ann_file, pipeline=[], split='xsub_train', modality='skeleton')
    assert len(dataset) == 1
