# Runtime of the real-data runs (NTU RGB+D 60, iMiGUE) on a GPU cluster:
# mmaction2's default runtime plus what long multi-GPU jobs need
# (docs/cluster.md). Use it with train_cfg.type =
# 'ResumableEpochBasedTrainLoop', as configs/i3d_hcn_ntu.py does.
_base_ = 'mmaction::_base_/default_runtime.py'

default_hooks = dict(
    # Every 5 epochs, the 3 latest kept (and the best on validation).
    checkpoint=dict(interval=5, max_keep_ckpts=3),
    # Preemption: a checkpoint every 500 iterations (minutes of training;
    # an NTU epoch is 2,506 iterations of 16 clips), the 2 latest kept.
    # `tools/train.py --resume` continues from the latest checkpoint,
    # mid-epoch ones included.
    iter_checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=500,
        max_keep_ckpts=2,
        save_last=False))

# Fixed input shapes (32 x 224 x 224 clips, 32-frame skeletons): cuDNN
# benchmarks each convolution once and keeps the fastest kernel.
# `--deterministic` turns it off again.
env_cfg = dict(cudnn_benchmark=True)

# Optional, off by default:
# - TensorBoard (`pip install tensorboard`), next to the local JSON logs:
#   visualizer = dict(vis_backends=[
#       dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
# - SyncBN over all GPUs (I3D's BatchNorm then sees the whole batch of 16
#   clips instead of each GPU's 2; docs/cluster.md):
#   sync_bn = 'torch'
