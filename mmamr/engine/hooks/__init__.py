# Copyright (c) mmamr contributors. All rights reserved.
from .amr_weights_hook import AMRWeightsHook, amr_weight_means

__all__ = ['AMRWeightsHook', 'amr_weight_means']
