# "AT with ✗RS" on the embedded synthetic dataset (CPU-sized model).
_base_ = ['../c3d_hcn_synthetic.py', '../_base_/adversarial/pgd10_train.py']

model = dict(train_cfg={{_base_.adversarial_train_cfg}})
