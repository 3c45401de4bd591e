# Beyond the paper: Table 5's λ = 1 in Eq. 12 on NTU, with 1 AMR as
# in the paper's sweep, which ran on iMiGUE only
# (amr_1_lambda_*_i3d_hcn_imigue.py).
_base_ = ['amr_1_i3d_hcn_ntu.py']

model = dict(train_cfg=dict(lam=1))
