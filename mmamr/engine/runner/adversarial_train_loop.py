# Copyright (c) mmamr contributors. All rights reserved.
"""The epoch-based train loop of adversarial training."""
from typing import Dict, Optional, Union

from mmaction.registry import LOOPS
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mmamr.common import unwrap_model
from mmamr.models.recognizers.adversarial_training import AdversarialTraining


@LOOPS.register_module()
class AdversarialTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that sets the model's training objective.

    The loop only sets things up: it builds an :class:`AdversarialTraining`
    from its config and hands it to the (unwrapped) recognizer, whose
    ``loss`` then makes the adversarial examples and computes the
    objective. Making them inside ``loss`` rather than in this loop is
    deliberate: ``MMDistributedDataParallel.train_step`` calls the data
    preprocessor and the ``'loss'`` forward itself, so the ``loss`` runs
    in every process under ``tools/dist_train.sh``, with no second
    preprocessing and with any loop (iteration- or epoch-based); the
    attack needs no parameter gradients, so it can run inside the DDP
    forward without firing DDP's gradient hooks.

    Example (the paper's AMR training on NTU, §4.2)::

        train_cfg = dict(
            type='AdversarialTrainLoop', max_epochs=80, mode='amr', lam=1.,
            attack=dict(type='PGD', eps=dict(rgb=8/255, skeleton=8/255),
                        alpha=dict(rgb=2/255, skeleton=2/255), steps=10,
                        random_start=True, targets='both'))

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader or dict): The training dataloader.
        max_epochs (int): Total training epochs.
        mode (str): ``'standard'``, ``'madry'`` or ``'amr'`` (see
            :class:`AdversarialTraining`). Defaults to ``'amr'``.
        attack (dict, optional): Attack config (``mmamr.ATTACKS``).
        lam (float): λ of Eq. 12. Defaults to 1.
        **kwargs: ``val_begin``, ``val_interval``, ``dynamic_intervals``
            of :class:`EpochBasedTrainLoop`.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 max_epochs: int,
                 mode: str = 'amr',
                 attack: Optional[Dict] = None,
                 lam: float = 1.0,
                 **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        model = unwrap_model(runner.model)
        if not hasattr(model, 'set_adversarial_training'):
            raise TypeError(
                'AdversarialTrainLoop trains an RGBSkeletonRecognizer (a '
                'model with set_adversarial_training); got '
                f'{type(model).__name__}.')
        self.adversarial_training = AdversarialTraining(mode, attack, lam)
        model.set_adversarial_training(self.adversarial_training)
        print_log(
            f'Training objective: {self.adversarial_training}',
            logger='current')
