# Copyright (c) mmamr contributors. All rights reserved.
"""Speed of 2-D skeleton extraction (tools/data/extract_skeletons.py).

A benchmark, not a test (needs the ``pose`` extra). On frames of the real
NTU video (1920 x 1080) it times, after a warm-up, best of ``--repeat``:

- decoding the frames with OpenCV;
- the person detector on batches of ``--batch-sizes`` frames: its test
  pipeline, data preprocessor and network, without the post-processing
  (score threshold, NMS);
- the top-down pose model on ``--persons`` boxes per frame, everything
  included (the boxes are given, so the figure does not depend on what
  random weights detect).

The cost of a network does not depend on its weights, so these frames per
second hold for the model zoo checkpoints too. The detector's
post-processing does depend on them: with random weights every one of the
8400 x 80 candidates scores about 0.5 and passes the config's score
threshold (0.001), so NMS sorts through 30,000 boxes per frame and takes
seconds; a trained RTMDet leaves a few hundred candidates at most, and the
NMS is then negligible. Prints one JSON line per measurement.

Example::

    python benchmarks/skeleton_extraction.py --device cpu --threads 2
"""
import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from harness import best_of, machine
from mmengine.dataset import pseudo_collate

from mmamr.data_prep.person_pose_estimator import PersonPoseEstimator

VIDEO = (
    Path(__file__).resolve().parents[1] / 'tests' / 'data' / 'ntu' /
    'S001C001P001R001A001_rgb.avi')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--persons', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--repeat', type=int, default=2)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    frames = []
    cap = cv2.VideoCapture(str(VIDEO))
    while len(frames) < max(args.batch_sizes):
        ok, frame = cap.read()
        assert ok, f'{VIDEO} has too few frames'
        frames.append(frame)
    cap.release()

    def decode():
        cap = cv2.VideoCapture(str(VIDEO))
        for _ in range(len(frames)):
            cap.read()
        cap.release()

    report = dict(device=args.device, video='1080p', **machine())
    seconds = best_of(decode, args.repeat)
    print(json.dumps(dict(report, step='decode', fps=len(frames) / seconds)))
    estimator = PersonPoseEstimator(device=args.device)
    height, width = frames[0].shape[:2]
    detector = estimator.detector

    def detect_network(batch):
        data = pseudo_collate([
            estimator.det_pipeline(dict(img=frame, img_id=i))
            for i, frame in enumerate(frames[:batch])
        ])
        with torch.no_grad():
            detector._run_forward(
                detector.data_preprocessor(data, False), mode='tensor')

    for batch in args.batch_sizes:
        seconds = best_of(lambda: detect_network(batch), args.repeat)
        print(
            json.dumps(
                dict(report, step='detect', batch=batch, fps=batch / seconds)))
        for persons in args.persons:
            # Side by side, one person each, like people standing in a row.
            boxes = [
                np.array([[(k + 0.2) * width / persons, 0.2 * height,
                           (k + 0.8) * width / persons, 0.9 * height]
                          for k in range(persons)], np.float32)
            ] * batch
            seconds = best_of(
                lambda: estimator.estimate_poses(frames[:batch], boxes),
                args.repeat)
            print(
                json.dumps(
                    dict(
                        report,
                        step='pose',
                        batch=batch,
                        persons=persons,
                        fps=batch / seconds)))


if __name__ == '__main__':
    main()
