# Copyright (c) mmamr contributors. All rights reserved.
"""Refuse a checkpoint that fills none of the model's weights.

mmengine loads checkpoints non-strictly: keys the model lacks and weights
the checkpoint lacks are only warned about, so a checkpoint of another
layout (an RGB-only mmaction2 recognizer's ``backbone.*`` for the
two-stream model's ``branches.rgb.*``) "loads" and the test then reports
the accuracy of random weights. :func:`check_checkpoint_keys` fails
instead when no weight outside the classifier would be filled, and stays
silent on partial overlaps (a checkpoint without classifier, a model with
modules the checkpoint predates), which load as before.

Used by ``tools/test.py`` (as :class:`CheckpointKeysHook`, for the
runner's ``load_from`` and resume) and ``tools/build_exfmem.py`` (through
:func:`load_checked_checkpoint`).
"""
import re
from collections import OrderedDict
from typing import Iterable, List, Mapping, Optional

from mmaction.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import load_state_dict
from torch import nn

from mmamr.common import unwrap_model

# The prefix DataParallel and DDP add; mmengine strips it when loading.
WRAPPER_PREFIX = re.compile(r'^module\.')
# Every mmaction2 recognizer's classifier: a checkpoint of another task or
# layout may share its key names (and the bias's shape) by coincidence.
HEAD_PREFIX = 'cls_head.'
SHOWN_KEYS = 3


def model_state(checkpoint: Mapping) -> 'OrderedDict[str, object]':
    """The state dict of ``checkpoint`` with ``module.`` stripped, as
    mmengine's loaders read it (``checkpoint['state_dict']`` if present,
    else the checkpoint itself)."""
    state = checkpoint.get('state_dict', checkpoint)
    stripped = OrderedDict(
        (WRAPPER_PREFIX.sub('', k), v) for k, v in state.items())
    # Module versions (e.g. BatchNorm's) that _load_from_state_dict reads.
    stripped._metadata = getattr(state, '_metadata', OrderedDict())
    return stripped


def _groups(keys: Iterable[str]) -> List[str]:
    """Distinct leading modules of ``keys``; two levels under
    ``branches`` (one per modality), as the model nests them."""
    groups = []
    for key in keys:
        parts = key.split('.')
        depth = 2 if parts[0] == 'branches' and len(parts) > 2 else 1
        group = '.'.join(parts[:depth]) + '.'
        if group not in groups:
            groups.append(group)
    return groups


def _describe(keys: List[str]) -> str:
    """``'<n> keys under <groups> (e.g. <first keys>)'``."""
    if not keys:
        return 'no keys'
    return (f'{len(keys)} keys under {", ".join(_groups(keys))} (e.g. '
            f'{", ".join(keys[:SHOWN_KEYS])})')


def check_checkpoint_keys(model: nn.Module,
                          checkpoint: Mapping,
                          filename: Optional[str] = None) -> None:
    """Raise if ``checkpoint`` fills no weight of ``model`` but its head.

    A weight is filled when the checkpoint has its key (``module.``
    stripped) with the same shape. Only the classifier filled, or
    nothing, means the features would be random: that is an error.

    Args:
        model (nn.Module): The model (wrappers are looked through).
        checkpoint (Mapping): As loaded, with or without ``state_dict``.
        filename (str, optional): Named in the error.

    Raises:
        RuntimeError: Nothing but the classifier would be loaded; the
            message names the file and shows keys of both sides.
    """
    own = unwrap_model(model).state_dict()
    if not isinstance(checkpoint, Mapping) or not own:
        return  # not a state dict (mmengine reports it), or nothing to fill
    state = model_state(checkpoint)
    features = [k for k in own if not k.startswith(HEAD_PREFIX)] or list(own)
    if any(
            k in state and getattr(state[k], 'shape', None) == own[k].shape
            for k in features):
        return
    name = filename or 'the checkpoint'
    raise RuntimeError(
        f'{name}: none of the model\'s weights (outside {HEAD_PREFIX}*) '
        'has a key of the same shape in this checkpoint, so the model '
        'would run with random weights. The checkpoint has '
        f'{_describe(list(state))}; the model has {_describe(list(own))}. '
        'RGBSkeletonRecognizer keeps each branch under '
        'branches.<modality>. (branches.rgb., branches.skeleton.) where '
        "mmaction2's single-stream recognizers use backbone.: use a "
        'checkpoint trained with this config, or load a single-stream '
        "one into its branch with the backbone's init_cfg=dict(type="
        "'Pretrained', checkpoint=..., prefix='backbone.') "
        '(docs/pretrained.md).')


def load_checked_checkpoint(model: nn.Module,
                            filename: str,
                            map_location: str = 'cpu') -> dict:
    """mmengine's ``load_checkpoint``, refusing a checkpoint that fits
    nothing (see :func:`check_checkpoint_keys`) before loading it.

    Returns:
        dict: The checkpoint as read (its keys unchanged).
    """
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location=map_location)
    check_checkpoint_keys(model, checkpoint, filename)
    load_state_dict(unwrap_model(model), model_state(checkpoint))
    return checkpoint


@HOOKS.register_module()
class CheckpointKeysHook(Hook):
    """Run :func:`check_checkpoint_keys` on what the runner loads.

    mmengine's ``Runner.load_checkpoint`` (``load_from`` and every resume)
    calls ``after_load_checkpoint`` with the checkpoint *before* loading
    it into the model, so the error comes before any weight is copied.
    Its priority is ``'LOWEST'``: it checks the checkpoint after the hooks
    that rewrite it there.

    Args:
        filename (str, optional): Named in the error. Defaults to the
            runner's ``load_from``.
    """
    priority = 'LOWEST'

    def __init__(self, filename: Optional[str] = None) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # mmengine keeps load_from private; a resume of the latest
        # checkpoint has none, and is its own model's anyway.
        filename = self.filename or getattr(runner, '_load_from', None)
        check_checkpoint_keys(runner.model, checkpoint, filename)
