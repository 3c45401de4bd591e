# Copyright (c) mmamr contributors. All rights reserved.
"""Extract 2-D skeletons from a folder of videos with mmdet + mmpose, into
the annotation pickle of the NTU / iMiGUE converters (any RGB dataset
becomes an RGB-skeleton dataset). Needs the ``pose`` extra
(``source tools/setup_env.sh pose``).

Example (RTMDet-tiny + RTMPose-t, the shipped configs, with downloaded
weights; see docs/data_preparation.md)::

    python tools/data/extract_skeletons.py data/ucf101/videos \
        data/ucf101/ucf101_2d_rgb.pkl \
        --split train=data/ucf101/ucf101_train_split_1_videos.txt \
        --split test=data/ucf101/ucf101_val_split_1_videos.txt \
        --det-checkpoint checkpoints/rtmdet_tiny_8xb32-300e_coco.pth \
        --pose-checkpoint checkpoints/rtmpose-tiny_simcc-coco.pth \
        --device cuda --batch-size 32

Interrupted? Run the same command again: finished videos are kept in
``<out_file>.work`` and not redone.
"""
import argparse
import os
import sys

from mmamr.data_prep.conversion import refuse_overwrite
from mmamr.data_prep.conversion.cli import (add_run_arguments,
                                            convert_and_report, run_kwargs)
from mmamr.data_prep.person_pose_estimator import (DEFAULT_DET_CONFIG,
                                                   DEFAULT_POSE_CONFIG,
                                                   PersonPoseEstimator)
from mmamr.data_prep.skeleton_extraction import extract_skeletons


def split_list(text: str):
    name, sep, path = text.partition('=')
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(
            f'expected NAME=VIDEO_LIST, got {text!r}')
    return name, path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='videos -> 2-D skeletons (mmdet + mmpose) -> pickle')
    parser.add_argument('video_dir', help='folder of the videos')
    parser.add_argument('out_file', help='pickle to write')
    parser.add_argument(
        '--split',
        type=split_list,
        action='append',
        metavar='NAME=VIDEO_LIST',
        help='an mmaction2 video list ("<video> [<label>]" lines, relative '
        'to video_dir) making split NAME; repeat for more splits. Without '
        'it every video of video_dir is taken, unlabelled, in split "all"')
    parser.add_argument(
        '--det-config',
        default=DEFAULT_DET_CONFIG,
        help=f'detector config file or mmdet::<path> (default '
        f'{DEFAULT_DET_CONFIG})')
    parser.add_argument(
        '--det-checkpoint', help='detector weights (default: random!)')
    parser.add_argument(
        '--pose-config',
        default=DEFAULT_POSE_CONFIG,
        help=f'top-down pose config file or mmpose::<path> (default '
        f'{DEFAULT_POSE_CONFIG})')
    parser.add_argument(
        '--pose-checkpoint', help='pose model weights (default: random!)')
    parser.add_argument(
        '--device', default='cpu', help="'cpu' (default), 'cuda', 'cuda:1'")
    parser.add_argument(
        '--batch-size',
        type=int,
        default=16,
        help='frames per forward pass (default 16)')
    parser.add_argument(
        '--det-score-thr',
        type=float,
        default=0.5,
        help='least person detection score (default 0.5)')
    parser.add_argument(
        '--det-cat-id',
        type=int,
        default=0,
        help="the detector's class of people (default 0, COCO's person)")
    parser.add_argument(
        '--max-persons',
        type=int,
        default=2,
        help='people kept per video, the most confident and persistent '
        '(default 2)')
    parser.add_argument(
        '--max-persons-per-frame',
        type=int,
        default=10,
        help='most confident boxes given to the pose model per frame '
        '(default 10)')
    add_run_arguments(parser, 'video', workers=False)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = [name for name, _ in args.split or []]
    if len(set(names)) != len(names):
        sys.exit(f'error: a split is given twice in --split {names}')
    if not os.path.isdir(args.video_dir):  # before the models load
        sys.exit(f'error: {args.video_dir}: video folder not found')
    try:
        refuse_overwrite(args.out_file, args.overwrite)  # ditto
    except FileExistsError as e:
        sys.exit(f'error: {e}')
    model_options = dict(
        det_config=args.det_config,
        det_checkpoint=args.det_checkpoint,
        pose_config=args.pose_config,
        pose_checkpoint=args.pose_checkpoint,
        det_score_thr=args.det_score_thr,
        det_cat_id=args.det_cat_id,
        max_persons_per_frame=args.max_persons_per_frame)
    convert_and_report(
        args.out_file, lambda: extract_skeletons(
            args.video_dir,
            args.out_file,
            PersonPoseEstimator(device=args.device, **model_options),
            model_options,
            split_lists=dict(args.split) if args.split else None,
            max_persons=args.max_persons,
            batch_size=args.batch_size,
            **run_kwargs(args)))


if __name__ == '__main__':
    main()
