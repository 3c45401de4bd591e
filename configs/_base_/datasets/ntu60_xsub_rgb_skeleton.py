# NTU RGB+D 60, cross-subject, RGB + 3-D skeleton (tools/data/ntu/).
# RGB: 32 frames, short side 256, 224 x 224 crops; values 0..255 (the
# model's data preprocessor scales them to [0, 1]).
# Skeleton: 32 frames of 2 bodies x 25 joints x (x, y, z), centred on the
# spine-mid joint and mapped from [-1.5 m, 1.5 m] to [0, 1] per axis, so
# an L-inf budget of 8/255 is about 9.4 cm for the skeleton.
# No horizontal flip: it would mirror RGB but not the skeleton (and swap
# left/right actions), so the two modalities would disagree.
dataset_type = 'RGBSkeletonDataset'
data_root = 'data/ntu60'
ann_file = f'{data_root}/ntu60_3d_rgb.pkl'
video_root = f'{data_root}/nturgb+d_rgb'
clip_len = dict(RGB=32, Pose=32)
skeleton_norm = dict(
    type='NormalizeSkeleton', center_joint=1, low=-1.5, high=1.5)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    # Skeleton steps come before the spatial RGB transforms, which would
    # otherwise treat keypoints as pixels.
    skeleton_norm,
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    skeleton_norm,
    dict(type='FormatSkeletonInput', num_person=2),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline

# rgb_skeleton_collate stacks the batch in the worker, so that handing it
# to the main process costs one shared-memory tensor per modality, not one
# per sample (mmamr/datasets/rgb_skeleton_collate.py).
train_dataloader = dict(
    batch_size=2,  # x 8 GPUs = the paper's batch of 16
    num_workers=4,
    persistent_workers=True,
    collate_fn=dict(type='rgb_skeleton_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file,
        split='xsub_train',
        data_prefix=dict(video=video_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    collate_fn=dict(type='rgb_skeleton_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file,
        split='xsub_val',
        data_prefix=dict(video=video_root),
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = val_dataloader

val_evaluator = dict(type='AccMetric')
test_evaluator = val_evaluator
