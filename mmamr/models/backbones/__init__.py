# Copyright (c) mmamr contributors. All rights reserved.
from .hcn import HCN
from .inception_i3d import InceptionI3D
from .staged_backbone import StagedBackbone
from .staged_resnet3d import StagedResNet3d
from .staged_stgcn import StagedSTGCN

__all__ = [
    'HCN', 'InceptionI3D', 'StagedBackbone', 'StagedResNet3d', 'StagedSTGCN'
]
