# Copyright (c) mmamr contributors. All rights reserved.
"""extract_skeletons and existing outputs: an existing pickle is replaced
only when told to, and a work dir that is a user's folder keeps its
files (the stand-in estimator of test_skeleton_extraction.py)."""
import os
import pickle
import shutil

import pytest
from test_skeleton_extraction import MODEL, VIDEO, FakeEstimator

from mmamr.data_prep.skeleton_extraction import extract_skeletons


@pytest.fixture
def videos(tmp_path):
    """The real NTU video twice, one in a sub-folder."""
    root = tmp_path / 'videos'
    (root / 'sub').mkdir(parents=True)
    shutil.copy(VIDEO, root / 'first.avi')
    shutil.copy(VIDEO, root / 'sub' / 'second.avi')
    return root


def test_an_existing_pickle_is_refused_before_any_work(videos, tmp_path):
    out = tmp_path / 'skeletons.pkl'
    out.write_bytes(b'old')
    estimator = FakeEstimator()
    with pytest.raises(FileExistsError, match=f'{out}.*overwrite'):
        extract_skeletons(str(videos), str(out), estimator, MODEL)
    assert estimator.frames_seen == 0 and out.read_bytes() == b'old'
    assert sorted(os.listdir(tmp_path)) == ['skeletons.pkl', 'videos']
    result = extract_skeletons(
        str(videos), str(out), estimator, MODEL, overwrite=True)
    with open(out, 'rb') as f:
        assert len(pickle.load(f)['annotations']) == result['num_samples']
    assert result['num_samples'] == 2


def test_the_video_folder_as_work_dir_keeps_its_videos(videos, tmp_path):
    before = sorted(p for p in videos.rglob('*'))
    result = extract_skeletons(
        str(videos),
        str(tmp_path / 'skeletons.pkl'),
        FakeEstimator(),
        MODEL,
        work_dir=str(videos))
    assert result['num_samples'] == 2
    assert sorted(p for p in videos.rglob('*')) == before
