# Copyright (c) mmamr contributors. All rights reserved.
"""Per-unit cost of the NTU and iMiGUE converters, to size a full run.

A benchmark, not a test: it times, on one core and in one process, the
units the converters repeat (each after a warm-up, best of ``--repeat``):

- NTU: parsing the real sample's ``.skeleton`` (103 frames, one body) and
  building its arrays; probing its video; re-encoding its 1920 x 1080 video
  to short side 256; pickling the annotation into the work dir;
- iMiGUE: parsing one real OpenPose JSON frame; skipping (``grab``) and
  decoding (``read``) frames of a 1280 x 720, 25 fps video; writing a clip
  frame resized to short side 256. The real long videos are not in the
  sample data, so the 720p video is made of the real NTU footage (camera
  noise and motion compress like real footage; synthetic images would
  not).

It prints the figures and the extrapolation to the whole datasets
(NTU RGB+D 60: 56,578 samples, about 4 million frames as its paper
states; iMiGUE: the frame counts of its labels CSV), the numbers that
``docs/data_preparation.md`` quotes.

Example::

    python benchmarks/data_conversion.py --data /work/shared/data
"""
import argparse
import csv
import json
import os
import pickle
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
from harness import best_of, command, machine, report

from mmamr.data_prep.conversion import VideoSink, read_video_info
from mmamr.data_prep.formats.openpose_json import read_openpose_frame
from mmamr.data_prep.ntu_converter import convert_sample

NTU_NAME = 'S001C001P001R001A001'
NTU_SAMPLES = 56578
NTU_FRAMES = 4.0e6 * NTU_SAMPLES / 56880  # "4 million frames" in all


def ntu_figures(ntu: Path, repeat: int, tmp: Path) -> dict:
    skeleton = str(ntu / f'{NTU_NAME}.skeleton')
    parse = best_of(lambda: convert_sample(skeleton), repeat)
    probe = best_of(lambda: read_video_info(str(ntu / f'{NTU_NAME}_rgb.avi')),
                    repeat)
    resize = best_of(
        lambda: convert_sample(
            skeleton,
            video_dir=str(ntu),
            out_video_dir=str(tmp),
            short_side=256), max(1, repeat // 3))
    ann = convert_sample(skeleton)
    cache = best_of(lambda: (tmp / 'c.pkl').write_bytes(pickle.dumps(ann)),
                    repeat)
    frames = ann['total_frames']
    video_size = os.path.getsize(tmp / f'{NTU_NAME}_rgb.mp4')
    return dict(
        parse_per_frame_ms=1e3 * parse / frames,
        probe_video_ms=1e3 * probe,
        resize_per_frame_ms=1e3 * (resize - parse) / frames,
        cache_write_ms=1e3 * cache,
        resized_bytes_per_frame=video_size / frames,
        annotation_bytes_per_frame=len(pickle.dumps(ann)) / frames)


def real_frames(ntu: Path, shape) -> list:
    """The NTU sample's frames, resized to ``shape`` ``(h, w)``."""
    cap = cv2.VideoCapture(str(ntu / f'{NTU_NAME}_rgb.avi'))
    frames = []
    ok, frame = cap.read()
    while ok:
        frames.append(
            cv2.resize(frame, shape[::-1], interpolation=cv2.INTER_AREA))
        ok, frame = cap.read()
    cap.release()
    return frames


def imigue_figures(imigue: Path, ntu: Path, repeat: int, tmp: Path) -> dict:
    frame = imigue / 'openpose_298' / '298_000000000168_keypoints.json'
    parse = best_of(lambda: read_openpose_frame(frame), repeat * 20)
    video = tmp / 'long.mp4'
    footage = real_frames(ntu, (720, 1280))
    writer = cv2.VideoWriter(
        str(video), cv2.VideoWriter_fourcc(*'mp4v'), 25, (1280, 720))
    for image in footage:
        writer.write(image)
    writer.release()
    count = len(footage)

    def decode(method: str) -> None:
        cap = cv2.VideoCapture(str(video))
        while getattr(cap, method)()[0] if method == 'read' else cap.grab():
            pass
        cap.release()

    grab = best_of(lambda: decode('grab'), max(1, repeat // 3)) / count
    read = best_of(lambda: decode('read'), max(1, repeat // 3)) / count

    def write_clip() -> None:
        sink = VideoSink(tmp / 'clip.mp4', 25, (256, 456))
        for image in footage:
            sink.write(image)
        sink.commit()

    write = best_of(write_clip, max(1, repeat // 3)) / count
    return dict(
        json_parse_ms=1e3 * parse,
        grab_per_frame_ms=1e3 * grab,
        read_per_frame_ms=1e3 * read,
        write_per_frame_ms=1e3 * write,
        clip_bytes_per_frame=os.path.getsize(tmp / 'clip.mp4') / count)


def imigue_counts(labels: Path) -> dict:
    rows = list(csv.DictReader(open(labels)))
    last = defaultdict(int)
    for r in rows:
        last[r['video_id']] = max(last[r['video_id']], int(r['end_frame']))
    return dict(
        clips=len(rows),
        clip_frames=sum(
            int(r['end_frame']) - int(r['start_frame']) + 1 for r in rows),
        decoded_frames=sum(v + 1 for v in last.values()))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data',
        default='/work/shared/data',
        help='folder with ntu/ and imigue/ sample files')
    parser.add_argument('--repeat', type=int, default=6)
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    data = Path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        ntu = ntu_figures(data / 'ntu', args.repeat, Path(tmp))
        imigue = imigue_figures(data / 'imigue', data / 'ntu', args.repeat,
                                Path(tmp))
    counts = imigue_counts(data / 'imigue' / 'labels_20200831.csv')
    ntu_total = dict(
        skeleton_cpu_h=(NTU_FRAMES * ntu['parse_per_frame_ms'] / 1e3 +
                        NTU_SAMPLES * ntu['cache_write_ms'] / 1e3) / 3600,
        resize_cpu_h=NTU_FRAMES * ntu['resize_per_frame_ms'] / 3.6e6,
        pickle_gb=NTU_FRAMES * ntu['annotation_bytes_per_frame'] / 1e9,
        resized_videos_gb=NTU_FRAMES * ntu['resized_bytes_per_frame'] / 1e9)
    imigue_total = dict(
        cpu_h=(counts['clip_frames'] *
               (imigue['json_parse_ms'] + imigue['read_per_frame_ms'] +
                imigue['write_per_frame_ms']) +
               (counts['decoded_frames'] - counts['clip_frames']) *
               imigue['grab_per_frame_ms']) / 3.6e6,
        clips_gb=counts['clip_frames'] * imigue['clip_bytes_per_frame'] / 1e9,
        pickle_gb=counts['clip_frames'] * 25 * 3 * 4 / 1e9)
    results = dict(
        command=command('data_conversion.py', argv),
        machine=machine(),
        ntu=ntu,
        ntu_total=ntu_total,
        imigue=imigue,
        imigue_counts=counts,
        imigue_total=imigue_total)
    return report(results, json.dumps(results, indent=1), args.json)


if __name__ == '__main__':
    main()
