# Skeleton-only HCN on NTU RGB+D 60 X-Sub: the unimodal skeleton baseline
# of the paper's Table 1 (attacks can only target the skeleton, ✗S).
_base_ = ['i3d_hcn_ntu.py']

clip_len = dict(Pose=32)
skeleton_norm = dict(
    type='NormalizeSkeleton', center_joint=1, low=-1.5, high=1.5)
model = dict(rgb_backbone=None)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    skeleton_norm,
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    skeleton_norm,
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='PackRGBSkeletonInputs'),
]
train_dataloader = dict(
    batch_size=16,  # skeletons are light: the paper's batch on one GPU
    dataset=dict(modality='skeleton', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    dataset=dict(modality='skeleton', pipeline=val_pipeline))
test_dataloader = val_dataloader
