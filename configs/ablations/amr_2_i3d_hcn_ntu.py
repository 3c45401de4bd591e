# Table 4: AMR training on NTU with 2 AMRs, after the 2 deepest stages.
_base_ = ['../amr_i3d_hcn_ntu.py']

model = dict(amr=dict(num_modules=2))
