# Copyright (c) mmamr contributors. All rights reserved.
"""Videos -> skeleton pickle, with a stand-in estimator (no mmpose needed):
frame order and count, batching, the pickle format, labels and splits,
resuming, atomic outputs and malformed videos. The real detector and pose
model run in tests/test_tools/test_extract_skeletons.py (``pose`` mark)."""
import os
import pickle
import shutil

import cv2
import numpy as np
import pytest
import sample_data

from mmamr.data_prep.person_tracks import FramePoses
from mmamr.data_prep.skeleton_extraction import extract_skeletons

VIDEO = sample_data.NTU_DIR / 'S001C001P001R001A001_rgb.avi'
V = 17
MODEL = dict(det_config='fake', pose_config='fake')


def video_frames(path) -> list:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        frames.append(frame)


@pytest.fixture(scope='module')
def frame_means():
    """Mean intensity of each frame of the real NTU video, in order."""
    return [float(f.mean()) for f in video_frames(VIDEO)]


class FakeEstimator:
    """One person per frame whose joints encode the frame's mean
    intensity (so the output shows which frame went where); counts the
    frames and batches it sees."""

    def __init__(self, fail_after=None, nobody=False):
        self.batches, self.fail_after, self.nobody = [], fail_after, nobody

    @property
    def frames_seen(self):
        return sum(self.batches)

    def __call__(self, frames):
        if self.fail_after is not None and self.frames_seen >= self.fail_after:
            raise KeyboardInterrupt  # as Ctrl-C in the middle of a video
        self.batches.append(len(frames))
        out = []
        for frame in frames:
            k = 0 if self.nobody else 1
            mean = float(frame.mean())
            keypoints = np.full((k, V, 2), mean, np.float32)
            scores = np.full((k, V), 0.75, np.float32)
            out.append(
                FramePoses(
                    np.tile(
                        np.array([[10, 10, 100, 200]], np.float32), (k, 1)),
                    keypoints, scores))
        return out


@pytest.fixture
def videos(tmp_path):
    """The real NTU video twice, one in a sub-folder."""
    root = tmp_path / 'videos'
    (root / 'sub').mkdir(parents=True)
    shutil.copy(VIDEO, root / 'first.avi')
    shutil.copy(VIDEO, root / 'sub' / 'second.avi')
    return root


def test_pickle_format_frame_order_and_batching(videos, tmp_path, frame_means):
    out = tmp_path / 'skeletons.pkl'
    estimator = FakeEstimator()
    result = extract_skeletons(
        str(videos), str(out), estimator, MODEL, batch_size=16)
    assert estimator.batches == 2 * ([16] * 6 + [7])  # 103 frames each
    with open(out, 'rb') as f:
        data = pickle.load(f)
    assert data['split'] == {'all': ['first', 'sub/second']}
    assert [a['video']
            for a in data['annotations']] == ['first.avi', 'sub/second.avi']
    ann = data['annotations'][0]
    assert 'label' not in ann
    assert ann['total_frames'] == len(frame_means) == 103
    assert ann['keypoint'].shape == (2, 103, V, 2)
    assert ann['keypoint_score'].shape == (2, 103, V)
    assert ann['keypoint'].dtype == ann['keypoint_score'].dtype == np.float32
    assert ann['img_shape'] == ann['original_shape'] == (1080, 1920)
    # Frame t of the skeleton is frame t of the video.
    np.testing.assert_allclose(
        ann['keypoint'][0, :, 0, 0], frame_means, rtol=1e-6)
    assert (ann['keypoint_score'][0] == 0.75).all()
    assert not ann['keypoint'][1].any() and not ann['keypoint_score'][1].any()
    assert result['num_samples'] == 2 and not result['skipped']
    assert not os.path.exists(f'{out}.work')


def test_labels_and_splits_from_video_lists(videos, tmp_path):
    (tmp_path / 'train.txt').write_text('sub/second.avi 7\n')
    (tmp_path / 'val.txt').write_text('first.avi 2\n')
    result = extract_skeletons(
        str(videos),
        str(tmp_path / 'out.pkl'),
        FakeEstimator(),
        MODEL,
        split_lists=dict(
            train=str(tmp_path / 'train.txt'), val=str(tmp_path / 'val.txt')))
    assert result['split'] == {'train': ['sub/second'], 'val': ['first']}
    labels = {a['frame_dir']: a['label'] for a in result['annotations']}
    assert labels == {'first': 2, 'sub/second': 7}


def test_an_interrupted_run_resumes_without_redoing_videos(videos, tmp_path):
    out = tmp_path / 'skeletons.pkl'
    # Interrupted in the middle of the second video.
    with pytest.raises(KeyboardInterrupt):
        extract_skeletons(
            str(videos), str(out), FakeEstimator(fail_after=150), MODEL)
    assert not out.exists()  # no partial pickle
    leftovers = [p for p in tmp_path.rglob('*') if '.tmp-' in p.name]
    assert not leftovers
    resumed = FakeEstimator()
    result = extract_skeletons(str(videos), str(out), resumed, MODEL)
    assert resumed.frames_seen == 103  # only the second video
    assert result['num_samples'] == 2
    # Replacing the pickle redoes no video whose result was kept (the
    # work dir went with the last run, so keep it this time).
    again = FakeEstimator()
    extract_skeletons(
        str(videos),
        str(out),
        again,
        MODEL,
        keep_work_dir=True,
        overwrite=True)
    assert again.frames_seen == 206
    rerun = FakeEstimator()
    extract_skeletons(str(videos), str(out), rerun, MODEL, overwrite=True)
    assert rerun.frames_seen == 0


def test_a_work_dir_of_another_model_is_refused(videos, tmp_path):
    out = tmp_path / 'skeletons.pkl'
    with pytest.raises(KeyboardInterrupt):
        extract_skeletons(
            str(videos), str(out), FakeEstimator(fail_after=150), MODEL)
    with pytest.raises(ValueError, match=r"other options .*'pose_config'"):
        extract_skeletons(
            str(videos), str(out), FakeEstimator(),
            dict(MODEL, pose_config='another'))


def test_unreadable_video_is_an_error_or_a_reported_skip(videos, tmp_path):
    (videos / 'broken.avi').write_bytes(b'not a video' * 100)
    out = tmp_path / 'skeletons.pkl'
    with pytest.raises(ValueError, match='broken.avi: cannot'):
        extract_skeletons(str(videos), str(out), FakeEstimator(), MODEL)
    result = extract_skeletons(
        str(videos), str(out), FakeEstimator(), MODEL, skip_invalid=True)
    assert [name for name, _ in result['skipped']] == ['broken.avi']
    assert result['num_samples'] == 2
    report = (tmp_path / 'skeletons.pkl.skipped.txt').read_text()
    assert report.startswith('broken.avi\t') and 'cannot' in report


def test_a_listed_video_that_is_missing_is_named(videos, tmp_path):
    (tmp_path / 'list.txt').write_text('first.avi 0\nmissing.avi 1\n')
    with pytest.raises(ValueError, match='missing.avi: video not found'):
        extract_skeletons(
            str(videos),
            str(tmp_path / 'out.pkl'),
            FakeEstimator(),
            MODEL,
            split_lists=dict(train=str(tmp_path / 'list.txt')))


def test_nobody_detected_is_an_error(videos, tmp_path):
    with pytest.raises(ValueError, match='nobody detected in any of its 103'):
        extract_skeletons(
            str(videos), str(tmp_path / 'out.pkl'), FakeEstimator(nobody=True),
            MODEL)


def test_an_edited_label_redoes_only_its_video(videos, tmp_path):
    """Cached results are keyed by what they hold: a label changed in a
    video list is not served from the cache of the old one."""
    out, lists = tmp_path / 'out.pkl', dict(train=str(tmp_path / 'l.txt'))
    (tmp_path / 'l.txt').write_text('first.avi 2\nsub/second.avi 7\n')
    extract_skeletons(
        str(videos),
        str(out),
        FakeEstimator(),
        MODEL,
        split_lists=lists,
        keep_work_dir=True)
    (tmp_path / 'l.txt').write_text('first.avi 4\nsub/second.avi 7\n')
    again = FakeEstimator()
    result = extract_skeletons(
        str(videos), str(out), again, MODEL, split_lists=lists, overwrite=True)
    labels = {a['frame_dir']: a['label'] for a in result['annotations']}
    assert labels == {'first': 4, 'sub/second': 7}
    assert again.frames_seen == 103  # the edited video only
