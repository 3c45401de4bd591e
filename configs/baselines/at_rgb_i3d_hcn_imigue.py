# "AT with ✗R" on iMiGUE cross-subject (paper Table 2): Madry adversarial
# training, PGD-10 on RGB only (the skeleton stays clean).
_base_ = ['at_both_i3d_hcn_imigue.py']

model = dict(train_cfg=dict(attack=dict(targets='rgb')))
