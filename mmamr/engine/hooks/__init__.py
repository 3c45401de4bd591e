# Copyright (c) mmamr contributors. All rights reserved.
from .amr_weights_hook import AMRWeightsHook, amr_weight_means
from .checkpoint_keys_hook import CheckpointKeysHook, check_checkpoint_keys

__all__ = [
    'AMRWeightsHook', 'amr_weight_means', 'CheckpointKeysHook',
    'check_checkpoint_keys'
]
