# AMR is plug-and-play (paper §3.3) on a second two-stream family:
# mmaction2's RGB-pose model RGBPoseConv3D (PoseC3D, NTU RGB+D 60 X-Sub 2D),
# its backbone settings, data and schedule unchanged, with 2 AMRs after the
# 2 deepest stages of both pathways and AMR's adversarial training (Eq. 12,
# PGD-10 on both modalities, ε 8/255, α 2/255).
#
# Inputs (DESIGN.md D5): `rgb` [N, 3, 8, 224, 224] in [0, 1] (ImageNet
# mean/std applied by the recognizer, the same values as mmaction2's
# preprocessor), and `skeleton` = the pose heatmap volume
# [N, 17, 32, 56, 56] that GeneratePoseTarget draws, values in [0, 1]. The
# attacks perturb that volume: ε = 8/255 is a fraction of the heatmap range
# (not of a coordinate range as for HCN), unclamped like all skeleton
# inputs. The two pathways exchange lateral connections, so a
# single-modality attack runs the whole model at every step.
#
# Differences from mmaction2's config: late fusion by FusionHead on the
# concatenated pooled features (2048 + 512) instead of RGBPoseHead's two
# classifiers; val/test crop the centre 224 (AMR weights have the training
# clip's shape); the init checkpoint loads into the backbone through its
# init_cfg (our keys gain a `backbone.` prefix, so load_from is unset).
_base_ = [
    'mmaction::skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py',
    '../_base_/adversarial/pgd10_train.py'
]
default_scope = 'mmaction'
custom_imports = dict(imports=['mmamr'], allow_failed_imports=False)

init_checkpoint = ('https://download.openmmlab.com/mmaction/v1.0/skeleton/'
                   'posec3d/rgbpose_conv3d/'
                   'rgbpose_conv3d_init_20230228-09b7684b.pth')
model = dict(
    _delete_=True,
    type='RGBSkeletonRecognizer',
    backbone=dict(
        type='StagedRGBPoseConv3D',
        backbone={{_base_.backbone_cfg}},
        init_cfg=dict(type='Pretrained', checkpoint=init_checkpoint)),
    cls_head=dict(
        type='FusionHead',
        num_classes=60,
        dropout_ratio=0.5,
        average_clips='prob'),
    # Heatmaps enter the backbone as the pipeline gives them, as in
    # mmaction2's config (its heatmap preprocessor has no mean/std).
    skeleton_mean=[0.],
    skeleton_std=[1.],
    amr=dict(
        num_modules=2,
        init='ones',
        # One clip as the pipelines produce it (DESIGN.md D2): RGB
        # (3, T, H, W); heatmaps (K, T, H, W), a quarter of the RGB size.
        input_shapes=dict(rgb=(3, 8, 224, 224), skeleton=(17, 32, 56, 56))),
    # AMR's objective (Eq. 12) on PGD-10 examples of both modalities; the
    # schedule (the top-level train_cfg, 20 epochs) is mmaction2's.
    train_cfg=dict(
        mode='amr', lam=1.0, attack={{_base_.adversarial_train_cfg.attack}}))
load_from = None

left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
pose_target = dict(
    type='GeneratePoseTarget',
    sigma=0.7,
    use_score=True,
    with_kp=True,
    with_limb=False,
    scaling=0.25)
# The skeleton input of this family is the heatmap volume.
pack = dict(type='PackRGBSkeletonInputs', skeleton_key='heatmap_imgs')
train_pipeline = [
    dict(
        type='MMUniformSampleFrames',
        clip_len=dict(RGB=8, Pose=32),
        num_clips=1),
    dict(type='MMDecode'),
    dict(type='MMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    pose_target,
    dict(type='FormatShape', input_format='NCTHW'),
    pack,
]


def eval_pipeline(num_clips):
    return [
        dict(
            type='MMUniformSampleFrames',
            clip_len=dict(RGB=8, Pose=32),
            num_clips=num_clips,
            test_mode=True),
        dict(type='MMDecode'),
        dict(type='MMCompact', hw_ratio=1., allow_imgpad=True),
        dict(type='Resize', scale=(256, 256), keep_ratio=False),
        dict(type='CenterCrop', crop_size=224),
        pose_target,
        dict(type='FormatShape', input_format='NCTHW'),
        pack,
    ]


val_pipeline = eval_pipeline(1)
test_pipeline = eval_pipeline(10)
del eval_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
custom_hooks = [dict(type='AMRWeightsHook')]
