# Skeleton-only HCN on iMiGUE cross-subject: the unimodal skeleton baseline
# of the paper's Table 1 (iMiGUE "Unimodal ✓S", 46.86; attacks can only
# target the skeleton, ✗S), with the two-stream config's HCN (2-D BODY_25,
# 1 person), clips and 40-epoch schedule.
_base_ = ['i3d_hcn_imigue.py']

clip_len = dict(Pose=32)
model = dict(rgb_backbone=None)

# Without the video the frame size of the keypoints is the annotation's
# img_shape (NormalizeSkeleton reads it when no frame was decoded).
train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    {{_base_.skeleton_norm_2d}},
    dict(type='FormatSkeletonInput', num_person={{_base_.num_person}}),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    {{_base_.skeleton_norm_2d}},
    dict(type='FormatSkeletonInput', num_person={{_base_.num_person}}),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline
train_dataloader = dict(
    batch_size=16,  # skeletons are light: the paper's batch on one GPU
    dataset=dict(modality='skeleton', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16, dataset=dict(modality='skeleton', pipeline=val_pipeline))
test_dataloader = val_dataloader
