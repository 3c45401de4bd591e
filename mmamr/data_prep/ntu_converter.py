# Copyright (c) mmamr contributors. All rights reserved.
"""NTU RGB+D raw files -> mmaction2's skeleton annotation pickle.

The pickle is ``{'annotations': [...], 'split': {name: [frame_dir, ...]}}``
(DESIGN.md §5; ``docs/data_preparation.md`` documents every field), one
annotation per sample::

    dict(frame_dir='S001C001P001R001A001', label=0, total_frames=T,
         keypoint=(M, T, 25, 3) float32, keypoint_score=(M, T, 25),
         keypoint_2d=(M, T, 25, 2), img_shape=(H, W),
         original_shape=(H, W), video='S001C001P001R001A001_rgb.avi')

``video`` (a name relative to the video folder) is present only when a
video folder is given; ``img_shape`` is then the video's frame size. With
``out_video_dir`` the videos are re-encoded there (``<name>_rgb.mp4``,
short side ``short_side``, by default 256 as the configs expect: 1080p
would make decoding the bottleneck of training), ``img_shape`` is the new
size, ``original_shape`` the source size, and ``keypoint_2d`` is scaled to
the new frame.

The conversion is streamed, parallel and resumable
(:class:`~.conversion.ResumableRun`): each sample is converted once into a
work dir, and the pickle is assembled from there one sample at a time.
"""
import logging
import os
import re
from functools import partial
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set, Tuple

from mmengine.logging import print_log

from .conversion import (JobOutput, ResumableRun, prepare_output_dirs,
                         read_video_info, refuse_overwrite, resize_video,
                         scale_factor, single_threaded_cv2)
from .conversion.video import count_stored_frames
from .formats.ntu_skeleton_file import read_skeleton_file, to_keypoint_arrays

XSUB_TRAIN_SUBJECTS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38))
XVIEW_TRAIN_CAMERAS = frozenset((2, 3))
NTU60_SUBJECTS = frozenset(range(1, 41))
NTU60_CAMERAS = frozenset(range(1, 4))
SPLITS = ('xsub_train', 'xsub_val', 'xview_train', 'xview_val')
# Colour frame of the Kinect v2, used when no video gives the size.
NTU_IMG_SHAPE = (1080, 1920)
SAMPLE_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')
VIDEO_SUFFIX = '_rgb.avi'
RESIZED_VIDEO_SUFFIX = '_rgb.mp4'
# Short side of re-encoded videos: the configs' Resize(-1, 256).
DEFAULT_SHORT_SIDE = 256
Skip = Tuple[str, str]  # (sample, reason), as in the skip report
# Bump when the annotation layout changes: cached samples of an older
# layout must not be mixed into a new pickle.
CACHE_FORMAT = 1


def parse_sample_name(name: str) -> Dict[str, int]:
    """Split ``SsssCcccPpppRrrrAaaa`` into its numbers.

    Returns:
        dict: ``setup``, ``camera``, ``subject``, ``replication``,
        ``action`` (1-based, as in the name).
    """
    match = SAMPLE_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f'{name!r} is not an NTU sample name '
                         '(expected SsssCcccPpppRrrrAaaa)')
    keys = ('setup', 'camera', 'subject', 'replication', 'action')
    return dict(zip(keys, map(int, match.groups())))


def read_missing_list(path: str) -> Set[str]:
    """Read a list of samples with missing skeletons.

    Accepts the plain list (one name per line, as mmaction2 ships it) and
    the official file, whose first lines are a free-text header: lines
    before the first sample name are skipped, blank lines are ignored,
    anything else after the first name is an error.
    """
    names: Set[str] = set()
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if SAMPLE_NAME.fullmatch(line):
                names.add(line)
            elif names:
                raise ValueError(
                    f'{path}: line {lineno}: expected a sample name '
                    f'SsssCcccPpppRrrrAaaa, got {line!r}')
    return names


def splits_of(name: str) -> Tuple[str, str]:
    """The X-Sub and X-View split of a sample, e.g.
    ``('xsub_train', 'xview_val')``."""
    info = parse_sample_name(name)
    xsub = info['subject'] in XSUB_TRAIN_SUBJECTS
    xview = info['camera'] in XVIEW_TRAIN_CAMERAS
    return ('xsub_train' if xsub else 'xsub_val',
            'xview_train' if xview else 'xview_val')


def build_splits(names: Iterable[str]) -> Dict[str, List[str]]:
    """X-Sub and X-View train/val lists of the given sample names."""
    split: Dict[str, List[str]] = {k: [] for k in SPLITS}
    for name in names:
        for key in splits_of(name):
            split[key].append(name)
    return split


def select_samples(names: Iterable[str], skip: Set[str]) -> List[str]:
    """Sorted sample names, without those in ``skip`` (the missing list);
    a name that is not an NTU sample name is an error."""
    for name in names:
        parse_sample_name(name)
    return sorted(set(names) - skip)


def list_samples(skeleton_dir: str,
                 skip: Set[str] = frozenset(),
                 skip_invalid: bool = False) -> Tuple[List[str], List[Skip]]:
    """Find the samples of a folder.

    Args:
        skeleton_dir (str): Folder of ``<name>.skeleton`` files.
        skip (set[str]): Names to leave out (the missing list).
        skip_invalid (bool): Return badly named files instead of failing
            at the first.

    Returns:
        tuple: The sample names, sorted, without those in ``skip``; and
        ``(name, reason)`` of each file whose name is not an NTU sample
        name.
    """
    names, misnamed = [], []
    for path in sorted(Path(skeleton_dir).glob('*.skeleton')):
        # Dot files are temporaries of an unfinished atomic write.
        if path.name.startswith('.'):
            continue
        name = path.name[:-len('.skeleton')]
        try:
            parse_sample_name(name)
        except ValueError as e:
            if not skip_invalid:
                raise ValueError(f'{path}: {e}') from None
            misnamed.append((name, f'{path}: {e}'))
            continue
        names.append(name)
    names = select_samples(names, skip)
    if not names:
        raise ValueError(f'{skeleton_dir}: no .skeleton files to convert')
    return names, misnamed


def _ids(prefix: str, ids: Iterable[int]) -> str:
    return ', '.join(f'{prefix}{i:03d}' for i in sorted(ids))


def empty_split_reasons(split: Dict[str, List[str]]) -> Dict[str, str]:
    """Why each empty split of ``split`` is empty (a split holds the
    samples of its subjects or cameras: none of them was converted)."""
    test_subjects = NTU60_SUBJECTS - XSUB_TRAIN_SUBJECTS
    test_cameras = NTU60_CAMERAS - XVIEW_TRAIN_CAMERAS
    reasons = dict(
        xsub_train='no sample of an X-Sub training subject '
        f'({_ids("P", XSUB_TRAIN_SUBJECTS)})',
        xsub_val='no sample of an X-Sub test subject '
        f'({_ids("P", test_subjects)})',
        xview_train='no sample of an X-View training camera '
        f'({_ids("C", XVIEW_TRAIN_CAMERAS)})',
        xview_val='no sample of the X-View test camera '
        f'({_ids("C", test_cameras)})')
    return {
        name: reasons[name]
        for name, ids in split.items() if not ids and name in reasons
    }


def _attach_video(ann: dict, skeleton_path: str, video_dir: str,
                  out_video_dir: Optional[str],
                  short_side: Optional[int]) -> None:
    """Add ``video``, ``img_shape``, ``original_shape`` to ``ann``,
    re-encoding the video into ``out_video_dir`` if given."""
    name, total = ann['frame_dir'], ann['total_frames']
    src = os.path.join(video_dir, name + VIDEO_SUFFIX)
    if not os.path.isfile(src):
        raise ValueError(f'{src}: video of {skeleton_path} not found')
    num_frames, height, width = read_video_info(src)
    header = num_frames
    # Longer videos are fine (the loader indexes skeleton frames);
    # shorter ones would make the RGB and skeleton clips disagree.
    if num_frames >= total and out_video_dir is not None:
        dst = os.path.join(out_video_dir, name + RESIZED_VIDEO_SUFFIX)
        num_frames, new, old = resize_video(src, dst, short_side)
        if num_frames < total:  # the header promised more than decoded
            os.remove(dst)
        ann.update(img_shape=new, original_shape=old, video=Path(dst).name)
        if 'keypoint_2d' in ann:
            ann['keypoint_2d'] = ann['keypoint_2d'] * scale_factor(old, new)
    else:
        if num_frames >= total:
            # A file cut mid-write keeps the header's promise of every
            # frame; training would fail on it much later.
            num_frames = count_stored_frames(src, total)
        ann.update(
            img_shape=(height, width),
            original_shape=(height, width),
            video=Path(src).name)
    if num_frames < total:
        cut = (f' (its header claims {header}: cut short?)'
               if header >= total else '')
        raise ValueError(f'{src}: video has {num_frames} frames{cut}, fewer '
                         f'than the {total} of its skeleton {skeleton_path}')


def convert_sample(skeleton_path: str,
                   video_dir: Optional[str] = None,
                   max_bodies: int = 2,
                   out_video_dir: Optional[str] = None,
                   short_side: Optional[int] = DEFAULT_SHORT_SIDE,
                   with_keypoint_2d: bool = True) -> dict:
    """Build the annotation dict of one sample (see module docstring).

    Args:
        skeleton_path (str): The ``<name>.skeleton`` file.
        video_dir (str, optional): Folder of ``<name>_rgb.avi``.
        max_bodies (int): ``M``, the most active bodies kept.
        out_video_dir (str, optional): Re-encode the video to
            ``<out_video_dir>/<name>_rgb.mp4``.
        short_side (int, optional): Short side of the re-encoded video;
            ``None`` keeps the size. Defaults to 256.
        with_keypoint_2d (bool): Keep the colour-frame keypoints.

    Raises:
        ValueError: malformed skeleton file, empty sequence, no body in any
            frame, missing video or a video with fewer frames than the
            skeleton; the message names the file.
    """
    name = Path(skeleton_path).name[:-len('.skeleton')]
    action = parse_sample_name(name)['action']
    skeleton = read_skeleton_file(skeleton_path)
    total_frames = skeleton.num_frames
    if total_frames == 0:
        raise ValueError(f'{skeleton_path}: the file declares 0 frames')
    if not skeleton.bodies:
        raise ValueError(
            f'{skeleton_path}: no body in any of its {total_frames} frames '
            '(NTU lists such samples in its missing-skeleton file)')
    arrays = to_keypoint_arrays(skeleton, max_bodies)
    ann = dict(
        frame_dir=name,
        label=action - 1,
        total_frames=total_frames,
        keypoint=arrays['keypoint'],
        keypoint_score=arrays['keypoint_score'],
        img_shape=NTU_IMG_SHAPE,
        original_shape=NTU_IMG_SHAPE)
    if with_keypoint_2d:
        ann['keypoint_2d'] = arrays['keypoint_2d']
    if video_dir is not None:
        _attach_video(ann, skeleton_path, video_dir, out_video_dir, short_side)
    return ann


def _convert_job(skeleton_path: str, **kwargs) -> JobOutput:
    return JobOutput([convert_sample(skeleton_path, **kwargs)])


def _abs(path: Optional[str]) -> Optional[str]:
    return None if path is None else os.path.abspath(path)


def convert_ntu(skeleton_dir: str,
                out_file: str,
                video_dir: Optional[str] = None,
                missing_list: Optional[str] = None,
                workers: int = 1,
                max_bodies: int = 2,
                progress: bool = False,
                *,
                out_video_dir: Optional[str] = None,
                short_side: Optional[int] = DEFAULT_SHORT_SIDE,
                with_keypoint_2d: bool = True,
                work_dir: Optional[str] = None,
                keep_work_dir: bool = False,
                overwrite: bool = False,
                skip_invalid: bool = False,
                return_annotations: bool = True) -> dict:
    """Convert a folder of ``*.skeleton`` files to one annotation pickle.

    Every sample is converted once into ``work_dir`` (in parallel); the
    pickle is then streamed from there and written atomically, and the
    per-sample results deleted. Re-running after an interruption converts
    only the samples not done yet; re-running with other options refuses
    to reuse the work dir.

    Args:
        skeleton_dir (str): Folder holding ``<name>.skeleton`` files.
        out_file (str): Pickle to write (atomically).
        video_dir (str, optional): Folder holding ``<name>_rgb.avi``;
            every kept sample must have its video there.
        missing_list (str, optional): Samples to skip (see
            :func:`read_missing_list`); the file must exist.
        workers (int): Parallel processes. Defaults to 1.
        max_bodies (int): ``M``, at least 1. Defaults to 2.
        progress (bool): Show a progress bar. Defaults to False.
        out_video_dir (str, optional): Re-encode the videos of
            ``video_dir`` into this folder (``<name>_rgb.mp4``); the
            annotations then point there. Defaults to None.
        short_side (int, optional): Short side of the videos re-encoded
            into ``out_video_dir``; None keeps their size. Without
            ``out_video_dir`` the videos are used as they are, and only
            the default or None is accepted. Defaults to 256.
        with_keypoint_2d (bool): Keep ``keypoint_2d`` (a third of the
            pickle). Defaults to True.
        work_dir (str, optional): Folder of the per-sample results (in
            its sub-folder ``.mmamr_conversion``; any folder, nothing else
            in it is touched). Defaults to ``<out_file>.work``.
        keep_work_dir (bool): Keep the results after success. Defaults to
            False.
        overwrite (bool): Replace ``out_file`` if it exists; otherwise
            that raises ``FileExistsError`` before any work. Defaults to
            False.
        skip_invalid (bool): Skip malformed samples, badly named files
            included (listed in the result and in
            ``<out_file>.skipped.txt``), instead of stopping at the first.
            Defaults to False.
        return_annotations (bool): Read the annotations back into the
            result (the whole dataset in memory: turn off for the full
            NTU). Defaults to True.

    Returns:
        dict: ``split``, ``num_samples``, ``skipped`` (list of
        ``(name, reason)``) and, with ``return_annotations``,
        ``annotations``.
    """
    if out_video_dir is None:
        if short_side not in (None, DEFAULT_SHORT_SIDE):
            raise ValueError('short_side needs out_video_dir (where to '
                             'write the re-encoded videos); got '
                             f'short_side={short_side}')
        # Nothing is re-encoded: the work dir's options say so.
        short_side = None
    if out_video_dir is not None and video_dir is None:
        raise ValueError('out_video_dir needs video_dir (the source videos)')
    if max_bodies < 1:
        raise ValueError(
            f'max_bodies (--max-bodies) must be at least 1, got {max_bodies}')
    if missing_list and not os.path.isfile(missing_list):
        raise ValueError(f'{missing_list}: missing-skeleton list not found')
    refuse_overwrite(out_file, overwrite)  # before reading any input
    skip = read_missing_list(missing_list) if missing_list else set()
    names, misnamed = list_samples(skeleton_dir, skip, skip_invalid)
    prepare_output_dirs(out_file, out_video_dir)
    kwargs = dict(
        video_dir=_abs(video_dir),
        max_bodies=max_bodies,
        out_video_dir=_abs(out_video_dir),
        short_side=short_side,
        with_keypoint_2d=with_keypoint_2d)
    run = ResumableRun(
        work_dir or f'{out_file}.work',
        dict(kwargs, skeleton_dir=_abs(skeleton_dir), format=CACHE_FORMAT),
        skip_invalid=skip_invalid)
    jobs = [(name, os.path.join(skeleton_dir, f'{name}.skeleton'))
            for name in names]
    ran = run.run(
        jobs,
        partial(_convert_job, **kwargs),
        workers=workers,
        progress=progress,
        initializer=single_threaded_cv2)
    result = run.write_pickle(
        out_file,
        names,
        split_of=lambda ann: splits_of(ann['frame_dir']),
        split_names=SPLITS,
        skipped=misnamed,
        keep_work_dir=keep_work_dir,
        return_annotations=return_annotations)
    for split, reason in empty_split_reasons(result['split']).items():
        print_log(
            f'NTU: split {split} is empty: {reason}; a dataset of that '
            'split will refuse to load',
            logger='current',
            level=logging.WARNING)
    print_log(
        f'NTU: {result["num_samples"]} samples ({ran} converted now, '
        f'{len(names) - ran} from {run.work_dir}), '
        f'{len(result["skipped"])} skipped -> {out_file}',
        logger='current')
    return result
