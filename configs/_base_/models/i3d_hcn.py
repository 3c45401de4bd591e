# Two-stream I3D (Inception-v1, RGB) + HCN (skeleton), late fusion.
# Inputs: RGB [N, 3, T_R, H, W] in [0, 1]; skeleton [N, M, T_S, V, C] in the
# units of NormalizeSkeleton (about [0, 1] per axis). The recognizer applies
# the ImageNet mean/std to RGB itself, after any adversarial perturbation.
model = dict(
    type='RGBSkeletonRecognizer',
    rgb_backbone=dict(type='InceptionI3D'),
    skeleton_backbone=dict(
        type='HCN', in_channels=3, num_joints=25, num_person=2, clip_len=32),
    cls_head=dict(
        type='FusionHead',
        num_classes=60,
        dropout_ratio=0.5,
        average_clips='prob'))
