# Copyright (c) mmamr contributors. All rights reserved.
"""A name for the epoch-based train loop of adversarial training."""
from typing import Dict, Union

from mmaction.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

# The objective's arguments, which the loop once took (a user config of an
# earlier version gets told where they went).
OBJECTIVE_KEYS = ('mode', 'attack', 'lam')


@LOOPS.register_module()
class AdversarialTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` under the name that configs may give it.

    The training objective is the model's: ``RGBSkeletonRecognizer``
    builds it from its own ``train_cfg`` (see :class:`AdversarialTraining`)
    and makes the adversarial examples inside ``loss``, so any train loop
    trains it the same, and so does ``MMDistributedDataParallel``, which
    calls the ``'loss'`` forward itself. This loop adds nothing; it only
    keeps configs that name it working, with the schedule only::

        train_cfg = dict(type='AdversarialTrainLoop', max_epochs=80)

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader or dict): The training dataloader.
        max_epochs (int): Total training epochs.
        **kwargs: ``val_begin``, ``val_interval``, ``dynamic_intervals``
            of :class:`EpochBasedTrainLoop`.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 max_epochs: int, **kwargs) -> None:
        moved = [k for k in OBJECTIVE_KEYS if k in kwargs]
        if moved:
            raise ValueError(
                f'train_cfg sets {moved}: the training objective is the '
                "model's now; move them to model.train_cfg, e.g. "
                "model = dict(train_cfg=dict(mode='amr', lam=1., "
                "attack=dict(type='PGD', ...))), and keep the schedule "
                '(max_epochs, val_interval, ...) in train_cfg.')
        super().__init__(runner, dataloader, max_epochs, **kwargs)
