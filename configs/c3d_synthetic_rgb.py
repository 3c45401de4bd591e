# RGB-only I3D on the synthetic data: the unimodal RGB baseline of the
# paper's Table 1 (only ✗R applies), with the two-stream config's I3D,
# clips, optimiser and 10 epochs. It measures how much the small
# from-scratch I3D learns from the synthetic RGB alone (docs/results.md:
# little, which is why the undefended model ignores RGB).
_base_ = ['c3d_hcn_synthetic.py']

clip_len = dict(RGB=8)
person_crop = {{_base_.person_crop}}
model = dict(skeleton_backbone=None)
resize = dict(
    type='Resize',
    scale=({{_base_.image_size}}, {{_base_.image_size}}),
    keep_ratio=False)

train_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len),
    dict(type='RGBSkeletonDecode', video_backend='opencv'),
    person_crop,
    resize,
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
val_pipeline = [
    dict(type='RGBSkeletonSampleFrames', clip_len=clip_len, test_mode=True),
    dict(type='RGBSkeletonDecode', video_backend='opencv'),
    person_crop,
    resize,
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackRGBSkeletonInputs'),
]
test_pipeline = val_pipeline
train_dataloader = dict(dataset=dict(modality='rgb', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(modality='rgb', pipeline=val_pipeline))
test_dataloader = val_dataloader
