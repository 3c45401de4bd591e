# Copyright (c) mmamr contributors. All rights reserved.
from .adversarial_train_loop import AdversarialTrainLoop
from .resumable_epoch_loop import (ResumableEpochBasedTrainLoop,
                                   skip_first_batches)

__all__ = [
    'AdversarialTrainLoop', 'ResumableEpochBasedTrainLoop',
    'skip_first_batches'
]
