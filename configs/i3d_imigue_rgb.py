# RGB-only I3D on iMiGUE cross-subject: the unimodal RGB baseline of the
# paper's Table 1 (iMiGUE "Unimodal ✓R", 59.48; attacks can only target
# RGB, ✗R), with the two-stream config's I3D, clips and 40-epoch schedule
# (tools/dist_train.sh configs/i3d_imigue_rgb.py 8 -> 2 per GPU).
_base_ = ['i3d_hcn_imigue.py']

clip_len = dict(RGB=32)
model = dict(skeleton_backbone=None)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline
train_dataloader = dict(dataset=dict(modality='rgb', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(modality='rgb', pipeline=val_pipeline))
test_dataloader = val_dataloader
