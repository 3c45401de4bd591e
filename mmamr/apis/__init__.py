# Copyright (c) mmamr contributors. All rights reserved.
"""High-level inference helpers.

Not imported by ``import mmamr``: :mod:`.person_pose_estimator` needs the
optional ``pose`` extra (mmdet, mmpose, full mmcv).
"""
