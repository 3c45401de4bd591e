# Undefended two-stream model on NTU RGB+D 60 X-Sub (configs/i3d_hcn_ntu.py)
# with mmaction2's I3D-R50 as the RGB branch, initialised from its
# Kinetics-400 checkpoint (model zoo: recognition/i3d, 73.47% top-1; get it
# as docs/pretrained.md says). Every backbone tensor must load; the
# classifier (cls_head) is dropped. RGB keeps the ImageNet mean/std, as in
# mmaction2.
_base_ = ['../i3d_hcn_ntu.py', '../_base_/models/i3d_r50_branch.py']

model = dict(
    rgb_backbone=dict(
        _delete_=True,
        **_base_.i3d_r50_branch,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='data/pretrained/i3d_imagenet-pretrained-r50_8xb8-'
            '32x2x1-100e_kinetics400-rgb_20220812-e213c223.pth')))
