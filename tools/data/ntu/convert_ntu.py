# Copyright (c) mmamr contributors. All rights reserved.
"""Convert NTU RGB+D raw skeletons (and videos) to mmaction2's pickle.

Example::

    python tools/data/ntu/convert_ntu.py data/ntu/nturgb+d_skeletons \
        data/ntu/ntu60_3d.pkl --video-dir data/ntu/nturgb+d_rgb \
        --missing-list data/ntu/NTU_RGBD_samples_with_missing_skeletons.txt \
        --workers 8
"""
import argparse
import os
import sys
import time

from mmamr.datasets.ntu_converter import convert_ntu


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='NTU RGB+D .skeleton files -> annotation pickle')
    parser.add_argument('skeleton_dir', help='folder of <name>.skeleton')
    parser.add_argument('out_file', help='pickle to write')
    parser.add_argument(
        '--video-dir',
        help='folder of <name>_rgb.avi; each sample must have its video')
    parser.add_argument(
        '--missing-list',
        help='samples to skip (NTU_RGBD_samples_with_missing_skeletons.txt)')
    parser.add_argument(
        '--workers',
        type=int,
        default=min(8,
                    os.cpu_count() or 1),
        help='parallel processes (default: min(8, CPUs))')
    parser.add_argument(
        '--max-bodies', type=int, default=2, help='body slots M (default 2)')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    try:
        data = convert_ntu(
            args.skeleton_dir,
            args.out_file,
            video_dir=args.video_dir,
            missing_list=args.missing_list,
            workers=args.workers,
            max_bodies=args.max_bodies,
            progress=not args.no_progress)
    except ValueError as e:  # malformed input: the message names the file
        sys.exit(f'error: {e}')
    print(f'{len(data["annotations"])} samples -> {args.out_file} '
          f'in {time.time() - start:.1f} s')
    for name, ids in data['split'].items():
        print(f'  {name}: {len(ids)}')


if __name__ == '__main__':
    main()
