# Copyright (c) mmamr contributors. All rights reserved.
from .adversarial_train_loop import AdversarialTrainLoop

__all__ = ['AdversarialTrainLoop']
