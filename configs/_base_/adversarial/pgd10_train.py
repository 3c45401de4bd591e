# The paper's adversarial training (§4.2): PGD-10 on both modalities with a
# random start, ε_R = ε_S = 8/255 and step 2/255 (RGB in [0, 1] intensity,
# skeleton in NormalizeSkeleton units: DESIGN.md D5), the attack run in
# eval mode (D6). mode='madry' is "AT with ✗RS"; AMR configs switch to
# mode='amr' (Eq. 12). The objective is the recognizer's own: used as
# `model = dict(train_cfg={{_base_.adversarial_train_cfg}})` on top of a
# config whose (top-level) train_cfg sets the schedule.
adversarial_train_cfg = dict(
    mode='madry',
    attack=dict(
        type='PGD',
        eps=dict(rgb=8 / 255, skeleton=8 / 255),
        alpha=dict(rgb=2 / 255, skeleton=2 / 255),
        steps=10,
        random_start=True,
        targets='both'))
