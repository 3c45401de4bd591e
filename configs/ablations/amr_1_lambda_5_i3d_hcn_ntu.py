# Table 5: λ = 5 in Eq. 12, with 1 AMR as in the paper's sweep (which
# ran on iMiGUE; these are the NTU counterparts).
_base_ = ['amr_1_i3d_hcn_ntu.py']

model = dict(train_cfg=dict(lam=5))
