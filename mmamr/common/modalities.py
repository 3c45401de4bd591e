# Copyright (c) mmamr contributors. All rights reserved.
"""The two modalities and the paper's three attack targets."""
from typing import Tuple

# The keys of a batch's ``inputs`` dict, in the fusion order.
MODALITIES = ('rgb', 'skeleton')
# Attack target -> attacked modalities: ✗R, ✗S and ✗RS of the paper, in
# its column order.
TARGETS = dict(rgb=('rgb', ), skeleton=('skeleton', ), both=MODALITIES)
# A module between backbone stages returns its modalities' feature maps
# and, optionally, an auxiliary prediction [N * V, K] under this key (AMR's
# y*); the recognizer collects it and never passes it to the next stage.
AUX_LOGITS = 'aux_logits'


def target_modalities(target: str) -> Tuple[str, ...]:
    """Map ``'rgb'``, ``'skeleton'`` or ``'both'`` to modality names."""
    if target not in TARGETS:
        raise ValueError(f'targets={target!r}; choose one of '
                         f'{sorted(TARGETS)} (✗R, ✗S, ✗RS).')
    return TARGETS[target]
