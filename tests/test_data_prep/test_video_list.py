# Copyright (c) mmamr contributors. All rights reserved.
"""Choosing the videos to convert: folder scan or mmaction2 video lists."""
import pytest

from mmamr.data_prep.conversion.resumable import KEY
from mmamr.data_prep.video_list import (VideoItem, collect_videos,
                                        read_video_list)


@pytest.fixture
def folder(tmp_path):
    for name in ['b/clip 1.avi', 'a.mp4', 'b/clip_1.avi', 'notes.txt']:
        path = tmp_path / 'videos' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'')
    return tmp_path


def test_without_lists_every_video_is_taken_unlabelled(folder):
    items = collect_videos(folder / 'videos')
    assert [i.path for i in items] == ['a.mp4', 'b/clip 1.avi', 'b/clip_1.avi']
    assert all(i.label is None and i.splits == ('all', ) for i in items)
    assert items[1].frame_dir == 'b/clip 1'
    keys = [i.key for i in items]
    # 'clip 1' and 'clip_1' sanitise alike; the path hash keeps them apart.
    assert len(set(keys)) == 3 and all(KEY.fullmatch(k) for k in keys)


def test_lists_give_labels_and_splits(folder):
    (folder / 'train.txt').write_text('a.mp4 3\nb/clip_1.avi 0\n\n')
    (folder / 'test.txt').write_text('b/clip_1.avi 0\n')
    items = collect_videos(
        folder / 'videos',
        dict(train=folder / 'train.txt', test=folder / 'test.txt'))
    assert items == [
        VideoItem('a.mp4', 3, ('train', )),
        VideoItem('b/clip_1.avi', 0, ('train', 'test')),
    ]


def test_a_list_without_labels_is_fine(folder):
    (folder / 'all.txt').write_text('a.mp4\n')
    (item, ) = collect_videos(folder / 'videos', dict(x=folder / 'all.txt'))
    assert item.label is None and item.splits == ('x', )


@pytest.mark.parametrize('line, message', [
    ('a.mp4 three', 'integer label'),
    ('a.mp4 -1', 'integer label'),
    ('a.mp4 1 2', 'expected'),
])
def test_malformed_list_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / 'list.txt'
    path.write_text(f'b.mp4 0\n{line}\n')
    with pytest.raises(ValueError, match=f'list.txt:2: .*{message}'):
        read_video_list(path)


def test_a_video_listed_twice_is_refused(tmp_path):
    path = tmp_path / 'list.txt'
    path.write_text('a.mp4 0\nb.mp4 1\na.mp4 0\n')
    with pytest.raises(
            ValueError, match='list.txt:3: a.mp4 already listed '
            'on line 1'):
        read_video_list(path)


def test_lists_that_disagree_on_a_label_are_refused(folder):
    (folder / 'one.txt').write_text('a.mp4 3\n')
    (folder / 'two.txt').write_text('a.mp4 4\n')
    with pytest.raises(ValueError, match='a.mp4 has label 4'):
        collect_videos(folder / 'videos',
                       dict(one=folder / 'one.txt', two=folder / 'two.txt'))


def test_a_missing_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='video folder not found'):
        collect_videos(tmp_path / 'nope')
