# Copyright (c) mmamr contributors. All rights reserved.
"""mmamr's own registries.

Models, loops, hooks and metrics register in mmaction2's registries (so
configs with ``default_scope='mmaction'`` find them); only what OpenMMLab
has no registry for lives here.
"""
from mmengine.registry import Registry

# Adversarial attacks (FGSM, PGD, CW): pure torch objects that map a model
# and clean inputs to adversarial inputs; built by the robust test loop and
# the adversarial training loop from their ``attack`` config fields.
ATTACKS = Registry('attack', scope='mmamr', locations=['mmamr.attacks'])
