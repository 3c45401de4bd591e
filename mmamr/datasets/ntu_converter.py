# Copyright (c) mmamr contributors. All rights reserved.
"""NTU RGB+D raw files -> mmaction2's skeleton annotation pickle.

The pickle is ``{'split': {name: [frame_dir, ...]}, 'annotations': [...]}``
(DESIGN.md §5), one annotation per sample::

    dict(frame_dir='S001C001P001R001A001', label=0, total_frames=T,
         keypoint=(M, T, 25, 3) float32, keypoint_score=(M, T, 25),
         keypoint_2d=(M, T, 25, 2), img_shape=(H, W),
         original_shape=(H, W), video='S001C001P001R001A001_rgb.avi')

``video`` (a name relative to the video folder) is present only when a
video folder is given; ``img_shape`` is then the video's frame size.
"""
import contextlib
import multiprocessing
import os
import pickle
import re
import secrets
from functools import partial
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import cv2

from .ntu_skeleton_file import read_skeleton_file, to_keypoint_arrays

XSUB_TRAIN_SUBJECTS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38))
XVIEW_TRAIN_CAMERAS = frozenset((2, 3))
# Colour frame of the Kinect v2, used when no video gives the size.
NTU_IMG_SHAPE = (1080, 1920)
SAMPLE_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')
VIDEO_SUFFIX = '_rgb.avi'


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

    Accepts the plain list (one name per line) and the official file,
    whose first lines are a free-text header: lines before the first
    sample name are skipped, blank lines are ignored, anything else after
    the first name is an error.
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


def read_video_info(path: str) -> Tuple[int, int, int]:
    """Return ``(num_frames, height, width)`` of a video file."""
    cap = cv2.VideoCapture(path)
    try:
        if not cap.isOpened():
            raise ValueError(f'{path}: cannot open video')
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    finally:
        cap.release()
    if count <= 0 or height <= 0 or width <= 0:
        # Some containers carry no frame count in the header; decord
        # indexes the stream instead.
        import decord
        reader = decord.VideoReader(path)
        count = len(reader)
        height, width = reader[0].shape[:2]
    return count, height, width


def convert_sample(skeleton_path: str,
                   video_dir: Optional[str] = None,
                   max_bodies: int = 2) -> dict:
    """Build the annotation dict of one sample (see module docstring).

    Raises:
        ValueError: malformed skeleton file, empty sequence, missing video
            or a video with fewer frames than the skeleton; the message
            names the file.
    """
    name = Path(skeleton_path).name[:-len('.skeleton')]
    action = parse_sample_name(name)['action']
    skeleton = read_skeleton_file(skeleton_path)
    total_frames = skeleton.num_frames
    if total_frames == 0:
        raise ValueError(f'{skeleton_path}: the file declares 0 frames')
    arrays = to_keypoint_arrays(skeleton, max_bodies)
    ann = dict(
        frame_dir=name,
        label=action - 1,
        total_frames=total_frames,
        keypoint=arrays['keypoint'],
        keypoint_score=arrays['keypoint_score'],
        keypoint_2d=arrays['keypoint_2d'],
        img_shape=NTU_IMG_SHAPE,
        original_shape=NTU_IMG_SHAPE)
    if video_dir is not None:
        video = name + VIDEO_SUFFIX
        video_path = os.path.join(video_dir, video)
        if not os.path.isfile(video_path):
            raise ValueError(f'{video_path}: video of {skeleton_path} '
                             'not found')
        num_frames, height, width = read_video_info(video_path)
        # Longer videos are fine (the loader indexes skeleton frames);
        # shorter ones would make the RGB and skeleton clips disagree.
        if num_frames < total_frames:
            raise ValueError(
                f'{video_path}: video has {num_frames} frames, fewer than '
                f'the {total_frames} of its skeleton {skeleton_path}')
        ann.update(
            img_shape=(height, width),
            original_shape=(height, width),
            video=video)
    return ann


def build_splits(names: Iterable[str]) -> Dict[str, List[str]]:
    """X-Sub and X-View train/val lists of the given sample names."""
    split: Dict[str, List[str]] = {
        k: []
        for k in ('xsub_train', 'xsub_val', 'xview_train', 'xview_val')
    }
    for name in names:
        info = parse_sample_name(name)
        xsub = info['subject'] in XSUB_TRAIN_SUBJECTS
        xview = info['camera'] in XVIEW_TRAIN_CAMERAS
        split['xsub_train' if xsub else 'xsub_val'].append(name)
        split['xview_train' if xview else 'xview_val'].append(name)
    return split


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """Yield a temporary path that replaces ``path`` on success.

    The temporary file sits in the same folder (so ``os.replace`` is an
    atomic rename) and keeps the suffix (so writers that pick a format by
    extension, such as ``cv2.VideoWriter``, still work). It is fsynced
    before the rename; on any exception it is removed and ``path`` is
    left untouched, so readers never see a half-written file.
    """
    path = Path(path)
    # Not tempfile.mkstemp: its 0600 mode would survive the rename; this
    # keeps the user's umask. The leading dot hides it from the globs.
    tmp = str(path.parent /
              f'.{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}')
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Persist a rename (best effort: not every OS can fsync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def dump_pickle_atomic(obj, path: str) -> None:
    """Pickle ``obj`` to ``path`` via :func:`atomic_output`."""
    with atomic_output(path) as tmp, open(tmp, 'wb') as f:
        pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)


def convert_ntu(skeleton_dir: str,
                out_file: str,
                video_dir: Optional[str] = None,
                missing_list: Optional[str] = None,
                workers: int = 1,
                max_bodies: int = 2,
                progress: bool = False) -> dict:
    """Convert a folder of ``*.skeleton`` files to one annotation pickle.

    Args:
        skeleton_dir (str): Folder holding ``<name>.skeleton`` files.
        out_file (str): Pickle to write (atomically).
        video_dir (str, optional): Folder holding ``<name>_rgb.avi``;
            every kept sample must have its video there.
        missing_list (str, optional): Samples to skip (see
            :func:`read_missing_list`).
        workers (int): Parallel processes. Defaults to 1.
        max_bodies (int): ``M``. Defaults to 2.
        progress (bool): Show a progress bar. Defaults to False.

    Returns:
        dict: The pickled data.
    """
    skip = read_missing_list(missing_list) if missing_list else set()
    paths = sorted(
        str(p) for p in Path(skeleton_dir).glob('*.skeleton')
        # Dot files are temporaries of an unfinished atomic write.
        if not p.name.startswith('.')
        and p.name[:-len('.skeleton')] not in skip)
    if not paths:
        raise ValueError(f'{skeleton_dir}: no .skeleton files to convert')
    fn = partial(convert_sample, video_dir=video_dir, max_bodies=max_bodies)
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(multiprocessing.Pool(workers))
            # imap keeps the input order, so the pickle is deterministic.
            results = pool.imap(fn, paths, chunksize=8)
        else:
            results = map(fn, paths)
        if progress:
            results = with_progress(results, len(paths))
        annotations = list(results)
    data = dict(
        split=build_splits(a['frame_dir'] for a in annotations),
        annotations=annotations)
    Path(out_file).parent.mkdir(parents=True, exist_ok=True)
    dump_pickle_atomic(data, out_file)
    return data


def with_progress(iterable, total: int):
    """Iterate with a progress bar (tqdm, else mmengine's)."""
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total)
        for item in iterable:
            bar.update()
            yield item
        return
    yield from tqdm(iterable, total=total, unit='sample')
