# "AT with ✗S" on NTU RGB+D 60 X-Sub (paper Table 2): Madry adversarial
# training, PGD-10 on the skeleton only (RGB stays clean).
_base_ = ['at_both_i3d_hcn_ntu.py']

model = dict(train_cfg=dict(attack=dict(targets='skeleton')))
