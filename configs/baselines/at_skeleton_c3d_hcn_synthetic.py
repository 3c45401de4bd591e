# "AT with ✗S" on the embedded synthetic dataset.
_base_ = ['at_both_c3d_hcn_synthetic.py']

model = dict(train_cfg=dict(attack=dict(targets='skeleton')))
