# Copyright (c) mmamr contributors. All rights reserved.
"""A random-weight RTMDet-tiny that does find "people", for the tests.

Nothing can be downloaded in the tests, and RTMDet-tiny with random weights
finds no person in the NTU frames: its top boxes are 2 x 1 pixels of other
COCO classes. Here the shipped config is built with seeded random weights
and only the biases of the head's last layers are set, so that every
location scores class 0 (person) about 0.5, with the image deciding the
order, and predicts a box about 4 strides wide and high. The weights are
saved as a checkpoint file, which the tests pass as users pass the model
zoo's (``--det-checkpoint``).
"""
import torch
from mmengine.registry import DefaultScope


def write_person_detector_checkpoint(path) -> str:
    """Save the biased random RTMDet-tiny to ``path``; returns ``path``."""
    from mmdet.apis import init_detector

    from mmamr.data_prep.person_pose_estimator import (DEFAULT_DET_CONFIG,
                                                       resolve_config)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = init_detector(
            resolve_config(DEFAULT_DET_CONFIG), None, 'none', 'cpu')
    head = model.bbox_head
    assert not head.exp_on_reg  # distances are outputs x stride
    with torch.no_grad():
        for cls_conv, reg_conv in zip(head.rtm_cls, head.rtm_reg):
            cls_conv.bias.fill_(-10.0)
            cls_conv.bias[0] = 0.0
            reg_conv.bias.fill_(2.0)
    meta = dict(dataset_meta=dict(classes=model.dataset_meta['classes']))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path)
