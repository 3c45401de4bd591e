# Copyright (c) mmamr contributors. All rights reserved.
from .minsim_loss import MinSimLoss

__all__ = ['MinSimLoss']
