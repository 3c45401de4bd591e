# iMiGUE, cross-subject, RGB + 2-D OpenPose BODY_25 skeleton
# (tools/data/imigue/convert_imigue.py; docs/data_preparation.md).
# RGB: clips re-encoded to short side 256 at conversion; 32 frames,
# 224 x 224 crops; values 0..255 (the model's data preprocessor scales
# them to [0, 1]).
# Skeleton: 32 frames of 1 person (the interviewed player) x 25 joints x
# (x, y) in pixels of the clip video, divided by its width and height
# (img_shape), so the frame maps to [0, 1]^2 and an L-inf budget of 8/255
# is 8/255 of the frame width along x (about 14 px at 456 x 256).
# Undetected joints stay exactly 0 (padding).
# No horizontal flip: it would mirror RGB but not the skeleton.
# Loaders (batch 2 per GPU, workers, samplers, AccMetric) as for NTU.
_base_ = ['ntu60_xsub_rgb_skeleton.py']

data_root = 'data/imigue'
ann_file = f'{data_root}/imigue_2d_rgb.pkl'
video_root = f'{data_root}/clips'
clip_len = dict(RGB=32, Pose=32)
num_person = 1
# Not named skeleton_norm: a dict of the base's name would merge with the
# base's 3-D settings.
skeleton_norm_2d = dict(
    type='NormalizeSkeleton', center_joint=None, use_img_shape=True)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    # Skeleton steps come before the spatial RGB transforms, which would
    # otherwise move the keypoints with the pixels.
    skeleton_norm_2d,
    dict(type='FormatSkeletonInput', num_person=num_person),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    skeleton_norm_2d,
    dict(type='FormatSkeletonInput', num_person=num_person),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline

train_dataloader = dict(
    dataset=dict(
        ann_file=ann_file,
        data_prefix=dict(video=video_root),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        ann_file=ann_file,
        split='xsub_test',
        data_prefix=dict(video=video_root),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
