# "AT with ✗RS" on iMiGUE cross-subject (paper Table 2): Madry adversarial
# training on PGD-10 examples of both modalities, loss on adversarial
# examples only; the undefended model's architecture and 40-epoch
# schedule.
_base_ = ['../i3d_hcn_imigue.py', '../_base_/adversarial/pgd10_train.py']

model = dict(train_cfg={{_base_.adversarial_train_cfg}})
