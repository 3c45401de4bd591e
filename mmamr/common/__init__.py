# Copyright (c) mmamr contributors. All rights reserved.
"""The ground floor: names and helpers every other package shares.

Nothing here imports another mmamr package, so any part may import it:
the modality and attack-target names, atomic file writes, model
unwrapping and the ground-truth labels of a batch.
"""
from .atomic_io import (atomic_output, dump_pickle_atomic, refuse_overwrite,
                        remove_temporaries, save_figure_atomic,
                        write_text_atomic)
from .labels import gt_labels
from .modalities import AUX_LOGITS, MODALITIES, TARGETS, target_modalities
from .model_wrappers import unwrap_model

__all__ = [
    'atomic_output', 'dump_pickle_atomic', 'refuse_overwrite',
    'remove_temporaries', 'save_figure_atomic', 'write_text_atomic',
    'gt_labels', 'AUX_LOGITS', 'MODALITIES', 'TARGETS', 'target_modalities',
    'unwrap_model'
]
