# AMR on other backbones with no code change (DESIGN.md §1): mmaction2's
# ResNet3dSlowOnly for RGB and ST-GCN for the skeleton in place of I3D and
# HCN, exposed stage by stage by StagedResNet3d and StagedSTGCN; the AMRs
# size themselves from the stages' maps.
_base_ = ['amr_c3d_hcn_synthetic.py']

model = dict(
    rgb_backbone=dict(
        _delete_=True,
        type='StagedResNet3d',
        backbone=dict(
            type='ResNet3dSlowOnly',
            depth=18,
            base_channels=16,
            pretrained=None)),
    skeleton_backbone=dict(
        _delete_=True,
        type='StagedSTGCN',
        backbone=dict(
            type='STGCN',
            base_channels=32,
            graph_cfg=dict(layout='nturgb+d', mode='stgcn_spatial'))))
