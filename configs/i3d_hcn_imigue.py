# Undefended two-stream I3D + HCN on iMiGUE cross-subject ("None" in the
# paper's iMiGUE tables), with the paper's schedule: SGD lr 0.01, momentum
# 0.9, weight decay 5e-4, cosine annealing over 40 epochs, batch 16 in
# total (tools/dist_train.sh configs/i3d_hcn_imigue.py 8 -> 2 per GPU).
# Skeleton: 2-D OpenPose BODY_25 (25 joints, x and y), 1 person.
_base_ = [
    '_base_/cluster_runtime.py',
    '_base_/models/i3d_hcn.py',
    '_base_/datasets/imigue_rgb_skeleton.py',
    '_base_/schedules/sgd_cosine_40e.py',
]

custom_imports = dict(imports=['mmamr'], allow_failed_imports=False)

# The skeleton arrives as (x / W, y / H) in [0, 1] (NormalizeSkeleton with
# use_img_shape); the model maps it to [-1, 1] before HCN, after any
# adversarial perturbation.
model = dict(
    skeleton_backbone=dict(in_channels=2, num_joints=25, num_person=1),
    skeleton_mean=(0.5, 0.5),
    skeleton_std=(0.5, 0.5),
    cls_head=dict(num_classes=32))

# Resumes from the runtime's mid-epoch checkpoints (preemption).
train_cfg = dict(type='ResumableEpochBasedTrainLoop')
# Testing runs attacks (a forward and an input gradient per step) on one
# GPU: 8 clips of 32 x 224 x 224 (docs/cluster.md).
test_dataloader = dict(batch_size=8)
