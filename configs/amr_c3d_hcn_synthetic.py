# AMR on the embedded synthetic dataset: the NTU method (PGD-10 AMR
# training, 3 AMRs, λ = 1) on the CPU-sized model and clips.
_base_ = ['baselines/at_both_c3d_hcn_synthetic.py']

model = dict(
    amr=dict(
        num_modules=3,
        init='ones',
        input_shapes=dict(rgb=(3, 8, 32, 32), skeleton=(2, 32, 25, 3))),
    train_cfg=dict(mode='amr', lam=1.0))
custom_hooks = [dict(type='AMRWeightsHook')]
