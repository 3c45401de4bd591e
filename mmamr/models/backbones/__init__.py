# Copyright (c) mmamr contributors. All rights reserved.
from .coupled_staged_backbone import CoupledStagedBackbone
from .hcn import HCN
from .inception_i3d import InceptionI3D
from .staged_backbone import StagedBackbone
from .staged_c3d import StagedC3D
from .staged_resnet3d import StagedResNet3d
from .staged_rgbpose_conv3d import StagedRGBPoseConv3D
from .staged_stgcn import StagedSTGCN

__all__ = [
    'CoupledStagedBackbone', 'HCN', 'InceptionI3D', 'StagedBackbone',
    'StagedC3D', 'StagedResNet3d', 'StagedRGBPoseConv3D', 'StagedSTGCN'
]
