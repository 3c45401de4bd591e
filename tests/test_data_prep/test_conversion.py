# Copyright (c) mmamr contributors. All rights reserved.
"""Shared converter machinery: streamed pickles, resumable jobs, atomic
video writing."""
import os
import pickle
import tracemalloc
from functools import partial

import mmengine
import numpy as np
import pytest

from mmamr.data_prep.conversion import (JobOutput, ResumableRun, VideoSink,
                                        dump_annotation_pickle,
                                        read_video_info, resized_shape,
                                        scale_factor)


def annotation(i: int, frames: int = 7) -> dict:
    rng = np.random.default_rng(i)
    return dict(
        frame_dir=f'clip{i:04d}',
        label=i % 5,
        total_frames=frames,
        keypoint=rng.normal(size=(2, frames, 25, 3)).astype(np.float32),
        keypoint_score=np.ones((2, frames, 25), np.float32),
        img_shape=(256, 340),
        name='shared string',  # memoized within one annotation
        tags=['a', 'a', ('b', 1)])


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key])
            assert a[key].dtype == b[key].dtype
        else:
            assert a[key] == b[key]


def test_streamed_pickle_loads_like_an_ordinary_one(tmp_path):
    path = tmp_path / 'ann.pkl'
    # More than one APPENDS batch.
    anns = [annotation(i, frames=3) for i in range(2345)]
    split = dump_annotation_pickle(
        path,
        iter(anns),
        split_of=lambda a: ['even' if a['label'] % 2 == 0 else 'odd'],
        split_names=('odd', 'even', 'empty'))
    data = mmengine.load(str(path))
    assert list(data) == ['annotations', 'split']
    assert len(data['annotations']) == len(anns)
    for a, b in zip(data['annotations'], anns):
        assert_same(a, b)
    assert list(data['split']) == ['odd', 'even', 'empty']
    assert data['split'] == split and split['empty'] == []
    assert split['even'] == [
        a['frame_dir'] for a in anns if a['label'] in (0, 2, 4)
    ]


def test_streamed_pickle_of_nothing(tmp_path):
    path = tmp_path / 'ann.pkl'
    dump_annotation_pickle(path, [], split_names=('train', ))
    with open(path, 'rb') as f:
        assert pickle.load(f) == dict(annotations=[], split=dict(train=[]))


def test_streaming_holds_one_annotation_at_a_time(tmp_path):
    # 60 annotations of 1.2 MB each: 72 MB if they were all held at once.
    def generate():
        for i in range(60):
            ann = annotation(i, frames=2000)
            yield ann

    tracemalloc.start()
    try:
        dump_annotation_pickle(tmp_path / 'big.pkl', generate())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One annotation plus its pickled copy, not the dataset.
    assert peak < 8e6, peak
    assert os.path.getsize(tmp_path / 'big.pkl') > 60 * 1.2e6


def test_failed_stream_leaves_no_file(tmp_path):

    def broken():
        yield annotation(0)
        raise ValueError('source broke')

    (tmp_path / 'ann.pkl').write_bytes(b'old')
    with pytest.raises(ValueError, match='source broke'):
        dump_annotation_pickle(tmp_path / 'ann.pkl', broken())
    assert os.listdir(tmp_path) == ['ann.pkl']
    assert (tmp_path / 'ann.pkl').read_bytes() == b'old'


SCRATCH = '.mmamr_conversion'  # where a ResumableRun keeps its files


def square(x: int) -> JobOutput:
    if x < 0:
        raise ValueError(f'negative input {x}')
    return JobOutput([dict(frame_dir=f's{x}', value=x * x)])


def test_resumable_run_caches_and_skips_done_jobs(tmp_path):
    run = ResumableRun(tmp_path / 'work', dict(power=2))
    jobs = [(f'job{x}', x) for x in range(5)]
    assert run.run(jobs[:3], square) == 3
    assert run.run(jobs, square, workers=2) == 2  # only the new ones
    skipped = []
    keys = [key for key, _ in jobs]
    values = [a['value'] for a in run.annotations(keys, skipped)]
    assert values == [0, 1, 4, 9, 16] and skipped == []
    # A new run object on the same folder sees the same finished jobs.
    again = ResumableRun(tmp_path / 'work', dict(power=2))
    assert again.run(jobs, square) == 0
    again.remove()
    assert not (tmp_path / 'work').exists()


def test_malformed_job_stops_the_run_or_is_skipped_and_retried(tmp_path):
    jobs = [('a', 1), ('b', -2), ('c', 3)]
    run = ResumableRun(tmp_path / 'work', {})
    with pytest.raises(ValueError, match='negative input -2'):
        run.run(jobs, square)
    assert sorted(os.listdir(tmp_path / 'work' / SCRATCH)) == [
        'MMAMR_CONVERSION.json', 'a.pkl', 'options.json'
    ]
    lenient = ResumableRun(tmp_path / 'work', {}, skip_invalid=True)
    assert lenient.run(jobs, square, workers=2) == 2
    skipped = []
    names = [a['frame_dir'] for a in lenient.annotations('abc', skipped)]
    assert names == ['s1', 's3']
    assert skipped == [('b', 'negative input -2')]
    # Failures are not cached: the next run tries 'b' again.
    assert not (tmp_path / 'work' / SCRATCH / 'b.pkl').exists()
    assert ResumableRun(
        tmp_path / 'work', {}, skip_invalid=True).run(jobs, square) == 1


def odd_samples_only(n: int, skip_invalid: bool) -> JobOutput:
    """A job of ``n`` samples, of which the even ones are malformed."""
    output = JobOutput()
    for i in range(n):
        if i % 2 == 0:
            if not skip_invalid:
                raise ValueError(f'sample {i} is malformed')
            output.skipped.append((f's{i}', 'malformed'))
        else:
            output.annotations.append(dict(frame_dir=f's{i}'))
    return output


def test_samples_skipped_inside_a_job_are_never_inherited(tmp_path):
    work = tmp_path / 'work'
    lenient = ResumableRun(work, {}, skip_invalid=True)
    lenient.run([('job', 3)], partial(odd_samples_only, skip_invalid=True))
    skipped = []
    assert [a['frame_dir']
            for a in lenient.annotations(['job'], skipped)] == ['s1']
    assert skipped == [('s0', 'malformed'), ('s2', 'malformed')]
    # The partial output is not "done": a strict run redoes the job.
    strict = ResumableRun(work, {})
    with pytest.raises(ValueError, match='sample 0 is malformed'):
        strict.run([('job', 3)], partial(odd_samples_only, skip_invalid=False))
    assert ResumableRun(
        work, {},
        skip_invalid=True).run([('job', 3)],
                               partial(odd_samples_only,
                                       skip_invalid=True)) == 1


def test_other_options_refuse_the_work_dir(tmp_path):
    ResumableRun(tmp_path / 'work', dict(size=256, dirs=('a', 'b')))
    # Tuples and lists are the same once saved as JSON.
    ResumableRun(tmp_path / 'work', dict(size=256, dirs=['a', 'b']))
    with pytest.raises(ValueError, match=r"other options \(differing: \['si"):
        ResumableRun(tmp_path / 'work', dict(size=340, dirs=['a', 'b']))


def test_job_keys_must_be_unique_file_names(tmp_path):
    run = ResumableRun(tmp_path / 'work', {})
    with pytest.raises(ValueError, match='file-name-safe'):
        run.run([('../x', 1)], square)
    with pytest.raises(ValueError, match='unique'):
        run.run([('a', 1), ('a', 2)], square)


def test_stale_temporaries_are_removed(tmp_path):
    work = tmp_path / 'work'
    ResumableRun(work, {})
    (work / SCRATCH / '.job1.tmp-0badf00d.pkl').write_bytes(b'half')
    # Outside the scratch folder nothing is ours, temporary-like or not.
    (work / '.job2.tmp-0badf00d.pkl').write_bytes(b'not ours')
    ResumableRun(work, {})
    assert sorted(os.listdir(
        work / SCRATCH)) == ['MMAMR_CONVERSION.json', 'options.json']
    assert sorted(os.listdir(work)) == ['.job2.tmp-0badf00d.pkl', SCRATCH]


def not_a_job_output(x):
    return [x]


def test_a_job_must_return_a_job_output(tmp_path):
    run = ResumableRun(tmp_path / 'work', {})
    with pytest.raises(TypeError, match='expected JobOutput'):
        run.run([('a', 1)], partial(not_a_job_output))


@pytest.mark.parametrize('shape, short, expected',
                         [((1080, 1920), 256, (256, 456)),
                          ((1080, 1920), 340, (340, 604)),
                          ((720, 1280), 256, (256, 456)),
                          ((1920, 1080), 256, (456, 256)),
                          ((480, 640), None, (480, 640))])
def test_resized_shape_keeps_aspect_with_even_sides(shape, short, expected):
    assert resized_shape(shape, short) == expected


def test_scale_factor_maps_pixels_per_axis():
    np.testing.assert_allclose(
        scale_factor((1080, 1920), (256, 456)), [456 / 1920, 256 / 1080])


def test_video_sink_commits_frame_exact_or_leaves_nothing(tmp_path):
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(9)]
    sink = VideoSink(tmp_path / 'clip.mp4', 25, (24, 32))
    for frame in frames:
        sink.write(frame)
    assert os.listdir(tmp_path)[0].startswith('.clip.tmp-')
    sink.commit()
    assert os.listdir(tmp_path) == ['clip.mp4']
    assert read_video_info(str(tmp_path / 'clip.mp4')) == (9, 24, 32)
    import decord
    decoded = decord.VideoReader(str(tmp_path / 'clip.mp4'))
    assert len(decoded) == 9
    # Grey levels survive the codec (studio-range YUV shifts them by a
    # few levels) and the frames keep their order.
    means = [decoded[i].asnumpy().mean() for i in range(9)]
    np.testing.assert_allclose(means, [20 * i for i in range(9)], atol=6)
    aborted = VideoSink(tmp_path / 'other.avi', 25, (24, 32))
    aborted.write(frames[0])
    aborted.abort()
    assert os.listdir(tmp_path) == ['clip.mp4']
    with pytest.raises(ValueError, match='unsupported video extension'):
        VideoSink(tmp_path / 'x.gif', 25, (24, 32))


# A converter deletes only what it created: its caches live in a marked
# scratch folder inside the work dir, which may be any user folder.


def test_a_user_folder_as_work_dir_keeps_every_file(tmp_path):
    work = tmp_path / 'data'
    (work / 'sub').mkdir(parents=True)
    user = {
        'notes.txt': b'kept',
        'sub/inner.txt': b'kept too',
        # Looks like a temporary of an atomic write, but is not ours.
        '.notes.tmp-0badf00d.txt': b'also kept',
    }
    for name, data in user.items():
        (work / name).write_bytes(data)
    run = ResumableRun(work, dict(power=2))
    assert run.run([(f'job{x}', x) for x in range(3)], square) == 3
    assert not (work / 'job0.pkl').exists()  # caches go to the scratch
    run.remove()
    assert sorted(str(p.relative_to(work))
                  for p in work.rglob('*')) == sorted(list(user) + ['sub'])
    for name, data in user.items():
        assert (work / name).read_bytes() == data


def test_a_created_work_dir_goes_only_when_nothing_else_is_in_it(tmp_path):
    work = tmp_path / 'new' / 'work'
    run = ResumableRun(work, {})
    run.run([('a', 1)], square)
    (work / 'late.txt').write_text('written by someone meanwhile')
    # A later run object (a resumed conversion) knows who made the folder.
    ResumableRun(work, {}).remove()
    assert os.listdir(work) == ['late.txt']


def test_a_scratch_folder_without_the_marker_is_not_used(tmp_path):
    scratch = tmp_path / 'work' / SCRATCH
    scratch.mkdir(parents=True)
    (scratch / 'a.pkl').write_bytes(b'not ours')
    with pytest.raises(ValueError, match='not an mmamr scratch folder'):
        ResumableRun(tmp_path / 'work', {})
    assert (scratch / 'a.pkl').read_bytes() == b'not ours'


def test_a_job_whose_fingerprint_changed_runs_again(tmp_path):
    run = ResumableRun(tmp_path / 'work', {})
    fingerprint = repr
    jobs = [('a', 1), ('b', 2)]
    assert run.run(jobs, square, fingerprint=fingerprint) == 2
    assert run.run(jobs, square, fingerprint=fingerprint) == 0
    edited = [('a', 1), ('b', 3)]
    assert run.run(edited, square, fingerprint=fingerprint) == 1
    values = [a['value'] for a in run.annotations('ab', [])]
    assert values == [1, 9]
    # The outdated output of 'b' is gone, not kept beside the new one.
    caches = [
        n for n in os.listdir(tmp_path / 'work' / SCRATCH)
        if n.endswith('.pkl')
    ]
    assert sorted(n[0] for n in caches) == ['a', 'b']
