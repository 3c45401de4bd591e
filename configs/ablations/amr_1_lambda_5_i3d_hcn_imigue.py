# Table 5: λ = 5 in Eq. 12 on iMiGUE with 1 AMR, the paper's sweep.
_base_ = ['amr_1_i3d_hcn_imigue.py']

model = dict(train_cfg=dict(lam=5))
