# Copyright (c) mmamr contributors. All rights reserved.
"""iMiGUE labels CSV: the real file's counts and protocol, bad rows."""
from collections import Counter

import pytest
import sample_data

from mmamr.data_prep.formats.imigue_labels import (NUM_CLASSES, TRAIN_SUBJECTS,
                                                   Clip, class_to_label,
                                                   read_labels)

CSV = sample_data.IMIGUE_DIR / 'labels_20200831.csv'


@pytest.fixture(scope='module')
def clips():
    if not CSV.is_file():
        pytest.fail(f'iMiGUE labels not found at {CSV}')
    return read_labels(str(CSV))


def test_real_csv_counts(clips):
    assert len(clips) == 18498
    assert len({c.video_id for c in clips}) == 359
    assert len({c.subject_id for c in clips}) == 72
    assert len(TRAIN_SUBJECTS) == 37


def test_real_csv_cross_subject_split(clips):
    sizes = Counter(c.split for c in clips)
    assert sizes == dict(xsub_train=13935, xsub_test=4563)


def test_real_csv_has_32_classes_with_99_last(clips):
    labels = Counter(c.label for c in clips)
    assert sorted(labels) == list(range(NUM_CLASSES))
    assert labels[31] == sum(c.class_id == 99 for c in clips) == 5715
    assert class_to_label(1) == 0 and class_to_label(31) == 30
    assert class_to_label(99) == 31


def test_real_first_clip_of_video_298(clips):
    clip = next(c for c in clips if (c.video_id, c.label_id) == (298, 1))
    assert (clip.start, clip.end, clip.class_id, clip.subject_id) == (168, 257,
                                                                      4, 22)
    assert clip.name == '0298_0001' and clip.num_frames == 90
    assert clip.label == 3 and clip.split == 'xsub_train'


HEADER = ('video_id,label_id,start_time,start_frame,end_time,end_frame,'
          'class,subject_id,subject_gender,subject_nationality,win_or_lose')
GOOD = '1,1,0.0,10,1.0,25,3,2,F,France,Win'


def write(tmp_path, *rows, header=HEADER):
    path = tmp_path / 'labels.csv'
    path.write_text('\n'.join([header, *rows]) + '\n')
    return path


@pytest.mark.parametrize(
    'row, message', [
        ('1,2,1.0,30,0.9,29,3,2,F,France,Win', 'end_frame 29 precedes '
         'start_frame 30'),
        ('1,2,0.0,10,1.0,25,32,2,F,France,Win', 'class 32 is not'),
        ('1,2,0.0,ten,1.0,25,3,2,F,France,Win', 'start_frame must be an '
         'integer'),
        ('1,2,0.0,-1,1.0,25,3,2,F,France,Win', 'negative'),
        ('1,1,0.0,40,1.0,45,3,2,F,France,Win', 'clip 0001_0001 is listed '
         'twice'),
    ],
    ids=[
        'end-before-start', 'unknown-class', 'not-int', 'negative', 'duplicate'
    ])
def test_bad_row_raises_or_is_skipped(tmp_path, row, message):
    path = write(tmp_path, GOOD, row)
    with pytest.raises(ValueError) as info:
        read_labels(str(path))
    assert f'{path}: line 3: ' in str(info.value)
    assert message in str(info.value)
    skipped = []
    kept = read_labels(str(path), skipped)
    assert [c.label_id for c in kept] == [1]
    assert len(skipped) == 1 and message in skipped[0][1]


def test_wrong_header_always_raises(tmp_path):
    path = write(tmp_path, GOOD, header=HEADER.replace('class', 'cls'))
    with pytest.raises(ValueError, match='line 1: expected the columns'):
        read_labels(str(path), [])


def test_clip_fields():
    clip = Clip(12, 3, 100, 149, 99, 1, 5)
    assert clip.num_frames == 50 and clip.label == 31
    assert clip.split == 'xsub_test' and clip.name == '0012_0003'
