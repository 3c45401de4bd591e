# Tables 4 and 8: AMR training on iMiGUE with 1 AMR, after the deepest
# stage; the paper's iMiGUE setting, so the same run as
# ../amr_i3d_hcn_imigue.py (one training serves both).
_base_ = ['../amr_i3d_hcn_imigue.py']

model = dict(amr=dict(num_modules=1))
