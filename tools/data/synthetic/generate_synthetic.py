# Copyright (c) mmamr contributors. All rights reserved.
"""Write the synthetic RGB-skeleton dataset in NTU RGB+D's raw format.

Example (then convert it exactly like NTU)::

    python tools/data/synthetic/generate_synthetic.py data/synthetic
    python tools/data/ntu/convert_ntu.py data/synthetic/nturgb+d_skeletons \
        data/synthetic/synthetic_3d_rgb.pkl \
        --video-dir data/synthetic/nturgb+d_rgb

Re-running with the same options resumes an interrupted generation; a
folder made with other options (recorded in ``synthetic_options.json``) is
refused.
"""
import argparse
import os
import sys
import time

from mmamr.data_prep.synthetic import (CLASS_NAMES, SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the synthetic NTU-format dataset')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=10,
        help=f'number of motions, at most {len(CLASS_NAMES)} (default 10)')
    parser.add_argument(
        '--num-per-class', type=int, default=40, help='samples per class')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(64, 64),
        metavar=('H', 'W'),
        help='video frame size (default 64 64)')
    parser.add_argument(
        '--frames',
        type=int,
        nargs=2,
        default=(40, 80),
        metavar=('MIN', 'MAX'),
        help='inclusive range of frame counts (default 40 80)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(4,
                    os.cpu_count() or 1),
        help='parallel processes (default: min(4, CPUs))')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    try:
        names = generate_synthetic(
            args.out_dir,
            seed=args.seed,
            num_classes=args.num_classes,
            num_per_class=args.num_per_class,
            size=tuple(args.size),
            frame_range=tuple(args.frames),
            workers=args.workers,
            progress=not args.no_progress)
    except (ValueError, FileExistsError) as e:
        sys.exit(f'error: {e}')
    print(f'{len(names)} samples in {args.out_dir} '
          f'({SKELETON_DIR}/, {VIDEO_DIR}/, label_map.txt) '
          f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
