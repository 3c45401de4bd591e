# Undefended two-stream I3D + HCN on NTU RGB+D 60 X-Sub
# (configs/i3d_hcn_ntu.py) with the Inception I3D initialised from
# DeepMind's ImageNet-inflated, Kinetics-400-trained weights as converted by
# pytorch_i3d (its models/rgb_imagenet.pt; docs/pretrained.md); HCN starts
# from scratch. Every I3D tensor must load; the classifier (logits) is
# dropped. Those weights take RGB in [-1, 1]: mean 0.5 and std 0.5 on the
# [0, 1] input (attacks still perturb the [0, 1] input, DESIGN.md D5).
_base_ = ['../i3d_hcn_ntu.py']

model = dict(
    rgb_backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='data/pretrained/rgb_imagenet.pt')),
    rgb_mean=(0.5, 0.5, 0.5),
    rgb_std=(0.5, 0.5, 0.5))
