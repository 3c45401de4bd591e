# Tables 4 and 8: AMR training on iMiGUE with 3 AMRs, after the 3
# deepest stages.
_base_ = ['../amr_i3d_hcn_imigue.py']

model = dict(amr=dict(num_modules=3))
