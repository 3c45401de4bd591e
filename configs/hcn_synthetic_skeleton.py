# Skeleton-only HCN on the synthetic data: the unimodal skeleton baseline
# of the paper's Table 1 (only ✗S applies), with the two-stream config's
# HCN, clips, optimiser and 10 epochs.
_base_ = ['c3d_hcn_synthetic.py']

clip_len = dict(Pose=32)
model = dict(rgb_backbone=None)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    {{_base_.skeleton_norm}},
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    {{_base_.skeleton_norm}},
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline
train_dataloader = dict(
    dataset=dict(modality='skeleton', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(modality='skeleton', pipeline=val_pipeline))
test_dataloader = val_dataloader
