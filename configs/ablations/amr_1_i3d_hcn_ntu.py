# Table 4: AMR training on NTU with 1 AMR, after the deepest stage.
_base_ = ['../amr_i3d_hcn_ntu.py']

model = dict(amr=dict(num_modules=1))
