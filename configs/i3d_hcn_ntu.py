# Undefended two-stream I3D + HCN on NTU RGB+D 60 X-Sub ("None" in the
# paper's tables), with the paper's schedule: SGD lr 0.01, momentum 0.9,
# weight decay 5e-4, cosine annealing over 80 epochs, batch 16 in total
# (tools/dist_train.sh configs/i3d_hcn_ntu.py 8 -> 2 per GPU).
_base_ = [
    '_base_/cluster_runtime.py',
    '_base_/models/i3d_hcn.py',
    '_base_/datasets/ntu60_xsub_rgb_skeleton.py',
    '_base_/schedules/sgd_cosine_80e.py',
]

custom_imports = dict(imports=['mmamr'], allow_failed_imports=False)

# Resumes from the runtime's mid-epoch checkpoints (preemption).
train_cfg = dict(type='ResumableEpochBasedTrainLoop')
# Testing runs attacks (a forward and an input gradient per step) on one
# GPU: 8 clips of 32 x 224 x 224 (docs/cluster.md).
test_dataloader = dict(batch_size=8)
