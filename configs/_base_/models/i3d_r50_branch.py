# mmaction2's I3D-R50 (the inflated ResNet-50 of
# mmaction::_base_/models/i3d_r50.py, the backbone of its Kinetics-400 I3D
# checkpoints) as an mmamr RGB branch, for beside a full config:
#   _base_ = ['../i3d_hcn_ntu.py', '../_base_/models/i3d_r50_branch.py']
#   model = dict(rgb_backbone=dict(_delete_=True, **_base_.i3d_r50_branch))
# The settings are mmaction2's (conv1 5x7x7 with temporal stride 2, pool1
# temporal stride 2, 3x1x1 inflation of every other block), so that its
# checkpoints fit; only pretrained is None here: set it to
# 'torchvision://resnet50' for mmaction2's ImageNet inflation, or load a
# Kinetics checkpoint with init_cfg (configs/pretrained/, docs/pretrained.md).
# Input: RGB [N, 3, 32, 224, 224] with the ImageNet mean/std (the
# recognizer's default) -> [N, 2048, 4, 7, 7] after the last stage.
i3d_r50_branch = dict(
    type='StagedResNet3d',
    backbone=dict(
        type='ResNet3d',
        pretrained2d=True,
        pretrained=None,
        depth=50,
        conv1_kernel=(5, 7, 7),
        conv1_stride_t=2,
        pool1_stride_t=2,
        conv_cfg=dict(type='Conv3d'),
        norm_eval=False,
        inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
        zero_init_residual=False))
