# The paper's schedule (§4.2): SGD, lr 0.01, momentum 0.9, weight decay
# 5e-4, cosine annealing over the whole run, batch 16 in total.
max_epochs = 80
train_cfg = dict(
    type='EpochBasedTrainLoop',
    max_epochs=max_epochs,
    val_begin=1,
    val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min=0,
        by_epoch=True,
        convert_to_iter_based=True)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
# lr 0.01 is for a total batch of 16; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(enable=False, base_batch_size=16)
