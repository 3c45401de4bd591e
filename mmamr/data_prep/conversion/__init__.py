# Copyright (c) mmamr contributors. All rights reserved.
"""Machinery shared by the dataset converters: atomic writes, resumable
parallel jobs, streaming pickle assembly, video re-encoding."""
from mmamr.common.atomic_io import (atomic_output, dump_pickle_atomic,
                                    refuse_overwrite, remove_temporaries)
from .output_dirs import prepare_output_dirs
from .progress import with_progress
from .resumable import JobOutput, ResumableRun, write_skip_report
from .streaming_pickle import dump_annotation_pickle
from .video import (VideoSink, read_video_info, resize_video, resized_shape,
                    scale_factor, single_threaded_cv2)

__all__ = [
    'atomic_output', 'dump_pickle_atomic', 'prepare_output_dirs',
    'refuse_overwrite', 'remove_temporaries', 'with_progress', 'JobOutput',
    'ResumableRun', 'write_skip_report', 'dump_annotation_pickle', 'VideoSink',
    'read_video_info', 'resize_video', 'resized_shape', 'scale_factor',
    'single_threaded_cv2'
]
