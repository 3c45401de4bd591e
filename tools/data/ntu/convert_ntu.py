# Copyright (c) mmamr contributors. All rights reserved.
"""Convert NTU RGB+D raw skeletons (and videos) to mmaction2's pickle.

Example (the whole NTU RGB+D 60, videos re-encoded to short side 256,
the default; ``--short-side 0`` keeps the 1080p originals)::

    python tools/data/ntu/convert_ntu.py data/ntu60/nturgb+d_skeletons \
        data/ntu60/ntu60_3d_rgb.pkl \
        --missing-list data/ntu60/NTU_RGBD_samples_with_missing_skeletons.txt \
        --video-dir data/ntu60/nturgb+d_rgb_raw \
        --out-video-dir data/ntu60/nturgb+d_rgb --workers 8

Interrupted? Run the same command again: finished samples are kept in
``<out_file>.work`` and not redone. See docs/data_preparation.md.
"""
import argparse
from typing import Optional

from mmamr.data_prep.conversion.cli import (add_run_arguments,
                                            convert_and_report, run_kwargs)
from mmamr.data_prep.ntu_converter import DEFAULT_SHORT_SIDE, convert_ntu


def body_count(text: str) -> int:
    """``--max-bodies``: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be at least 1, got {value}')
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='NTU RGB+D .skeleton files -> annotation pickle')
    parser.add_argument('skeleton_dir', help='folder of <name>.skeleton')
    parser.add_argument('out_file', help='pickle to write')
    parser.add_argument(
        '--video-dir',
        help='folder of <name>_rgb.avi; each sample must have its video')
    parser.add_argument(
        '--out-video-dir',
        help='re-encode the videos into this folder as <name>_rgb.mp4')
    parser.add_argument(
        '--short-side',
        type=int,
        default=None,
        help='short side of the videos re-encoded into --out-video-dir '
        f'(default {DEFAULT_SHORT_SIDE}, as the configs expect; 0 keeps the '
        'original size)')
    parser.add_argument(
        '--missing-list',
        help='samples to skip (NTU_RGBD_samples_with_missing_skeletons.txt)')
    parser.add_argument(
        '--max-bodies',
        type=body_count,
        default=2,
        help='body slots M (default 2)')
    parser.add_argument(
        '--no-keypoint-2d',
        action='store_true',
        help='leave out the colour-frame keypoints (a third of the pickle)')
    add_run_arguments(parser, 'sample')
    return parser.parse_args(argv)


def short_side(args) -> Optional[int]:
    """``--short-side``: the default 256 when re-encoding, 0 -> None
    (keep); given without ``--out-video-dir`` it is an error."""
    if args.short_side is None:
        return DEFAULT_SHORT_SIDE if args.out_video_dir else None
    if args.short_side < 0:
        raise SystemExit(f'error: --short-side {args.short_side}: give a '
                         'size, or 0 to keep the original size')
    if args.out_video_dir is None:
        raise SystemExit('error: --short-side needs --out-video-dir (where '
                         'the re-encoded videos go)')
    return args.short_side or None


def main(argv=None):
    args = parse_args(argv)
    convert_and_report(
        args.out_file, lambda: convert_ntu(
            args.skeleton_dir,
            args.out_file,
            video_dir=args.video_dir,
            missing_list=args.missing_list,
            max_bodies=args.max_bodies,
            out_video_dir=args.out_video_dir,
            short_side=short_side(args),
            with_keypoint_2d=not args.no_keypoint_2d,
            **run_kwargs(args)))


if __name__ == '__main__':
    main()
