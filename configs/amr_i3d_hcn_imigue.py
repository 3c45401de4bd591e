# AMR on iMiGUE cross-subject (paper §4.2): AT with ✗RS (PGD-10, ε 8/255,
# α 2/255, random start) plus 1 AMR after the deepest stage of I3D and
# HCN, trained with Eq. 12 and λ = 1; SGD lr 0.01, cosine over 40 epochs,
# batch 16 in total (tools/dist_train.sh configs/amr_i3d_hcn_imigue.py 8).
_base_ = ['baselines/at_both_i3d_hcn_imigue.py']

model = dict(
    amr=dict(
        num_modules=1,
        init='ones',
        # One clip as the pipelines produce it; sizes the AMR weights
        # (DESIGN.md D2): RGB (3, T, H, W), skeleton (M, T, V, C) with
        # 1 person and 2-D BODY_25 keypoints.
        input_shapes=dict(rgb=(3, 32, 224, 224), skeleton=(1, 32, 25, 2))),
    train_cfg=dict(mode='amr', lam=1.0))
custom_hooks = [dict(type='AMRWeightsHook')]
