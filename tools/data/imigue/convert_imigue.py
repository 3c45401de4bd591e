# Copyright (c) mmamr contributors. All rights reserved.
"""Convert iMiGUE (labels CSV, OpenPose JSON, long videos) to mmaction2's
pickle and clip videos.

Example::

    python tools/data/imigue/convert_imigue.py \
        data/imigue/labels_20200831.csv data/imigue/openpose \
        data/imigue/imigue_2d_rgb.pkl \
        --video-dir data/imigue/videos --out-video-dir data/imigue/clips \
        --short-side 256 --workers 8

Interrupted? Run the same command again: finished videos are kept in
``<out_file>.work`` and not redone. See docs/data_preparation.md.
"""
import argparse

from mmamr.data_prep.conversion.cli import (add_run_arguments,
                                            convert_and_report, run_kwargs)
from mmamr.data_prep.imigue_converter import convert_imigue


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='iMiGUE labels + OpenPose JSON (+ videos) -> pickle')
    parser.add_argument('label_csv', help='labels_20200831.csv')
    parser.add_argument(
        'pose_dir', help='OpenPose output, one sub-folder per video')
    parser.add_argument('out_file', help='pickle to write')
    parser.add_argument('--video-dir', help='folder of the long videos')
    parser.add_argument(
        '--out-video-dir', help='where the clip videos are written')
    parser.add_argument(
        '--short-side',
        type=int,
        default=256,
        help='short side of the clip videos (default 256; 0 keeps the size)')
    parser.add_argument(
        '--img-shape',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='frame size OpenPose saw, needed without --video-dir')
    parser.add_argument(
        '--max-persons',
        type=int,
        default=1,
        help='people kept per frame, most confident first (default 1)')
    parser.add_argument(
        '--pose-dir-template',
        default='{video_id}',
        help="sub-folder of pose_dir per video (default '{video_id}')")
    parser.add_argument(
        '--video-template',
        default='{video_id}.mp4',
        help="long video file name (default '{video_id}.mp4')")
    add_run_arguments(parser, 'long video')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    convert_and_report(
        args.out_file, lambda: convert_imigue(
            args.label_csv,
            args.pose_dir,
            args.out_file,
            video_dir=args.video_dir,
            out_video_dir=args.out_video_dir,
            short_side=args.short_side or None,
            img_shape=args.img_shape,
            max_persons=args.max_persons,
            pose_dir_template=args.pose_dir_template,
            video_template=args.video_template,
            **run_kwargs(args)))


if __name__ == '__main__':
    main()
