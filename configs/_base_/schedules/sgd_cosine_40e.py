# The paper's iMiGUE schedule (§4.2): as on NTU (SGD, lr 0.01, momentum
# 0.9, weight decay 5e-4, cosine annealing, batch 16) but 40 epochs.
_base_ = ['sgd_cosine_80e.py']

max_epochs = 40
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0,
        by_epoch=True,
        convert_to_iter_based=True)
]
