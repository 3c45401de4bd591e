# Copyright (c) mmamr contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained', ...)`` that loads every weight or
fails.

mmengine's ``PretrainedInit`` loads non-strictly: a checkpoint of another
layout (a whole recognizer given without ``prefix``, another width, a
non-local variant) only logs warnings, and training then starts from
random features that look pretrained in the config. A backbone that mixes
in :class:`PretrainedCheckpointMixin` loads its ``Pretrained`` init config
itself instead: the checkpoint's classifier is dropped, and a weight the
checkpoint lacks, a checkpoint tensor that fits no weight, or a shape that
differs is an error naming the file, with a hint at the ``prefix`` when
the keys only differ by one.

The config is mmengine's, unchanged: ``checkpoint`` (a path or anything
mmengine's ``CheckpointLoader`` reads), ``prefix`` (keep only the keys
under it, stripped: e.g. ``'branches.rgb.'`` for one branch of a whole
mmamr checkpoint) and ``map_location`` (defaults to ``'cpu'``).
"""
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.runner import CheckpointLoader

# The prefix DataParallel and DDP add to every key.
WRAPPER_PREFIX = 'module.'
# BatchNorm's step counter: absent from checkpoints saved before PyTorch
# 0.4 (pytorch_i3d's) and unused in eval or with a momentum.
OPTIONAL_SUFFIX = 'num_batches_tracked'
PRETRAINED_KEYS = {'type', 'checkpoint', 'prefix', 'map_location'}
SHOWN = 3


def is_pretrained(cfg: Mapping) -> bool:
    """Whether an init config is mmengine's ``Pretrained``."""
    return cfg['type'] in ('Pretrained', PretrainedInit)


def read_state(filename: str,
               prefix: Optional[str] = None,
               map_location: str = 'cpu') -> 'OrderedDict[str, object]':
    """The state dict of a checkpoint file, ``module.`` stripped.

    Args:
        filename (str): Path or URL, as mmengine's loaders take it.
        prefix (str, optional): Keep only the keys under this prefix
            (a trailing ``.`` is added if missing) and strip it.
        map_location (str): As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        OrderedDict: ``checkpoint['state_dict']`` if present, else the
        checkpoint itself.

    Raises:
        TypeError: The file holds no dict of tensors.
        KeyError: No key is under ``prefix``.
    """
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location=map_location)
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'{filename}: expected a state dict (or a dict with '
                        f'"state_dict"), got a {type(checkpoint).__name__}.')
    state = checkpoint.get('state_dict', checkpoint)
    state = OrderedDict(
        (k[len(WRAPPER_PREFIX):] if k.startswith(WRAPPER_PREFIX) else k, v)
        for k, v in state.items())
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        selected = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                               if k.startswith(prefix))
        if not selected:
            raise KeyError(
                f'{filename}: no key starts with prefix {prefix!r}; its keys '
                f'start with {_heads(state)}.')
        state = selected
    return state


def _heads(keys: Sequence[str]) -> str:
    """The distinct first two key components, e.g. ``'backbone.conv1.'``."""
    heads = []
    for key in keys:
        head = '.'.join(key.split('.')[:2]) + '.'
        if head not in heads:
            heads.append(head)
    shown = ', '.join(heads[:2 * SHOWN])
    return shown + (', ...' if len(heads) > 2 * SHOWN else '')


def _examples(keys: List[str]) -> str:
    return ', '.join(keys[:SHOWN]) + (', ...' if len(keys) > SHOWN else '')


def _shape(value) -> Optional[Tuple[int, ...]]:
    shape = getattr(value, 'shape', None)
    return None if shape is None else tuple(shape)


def suggest_prefix(own: Sequence[str], keys: Sequence[str]) -> Optional[str]:
    """The prefix under which ``keys`` hold most of ``own``, if any.

    E.g. ``'branches.rgb.'`` when the checkpoint is a whole mmamr model
    and ``own`` are an RGB backbone's keys.
    """
    votes: Dict[str, int] = {}
    for key in keys:
        for name in own:
            if key.endswith('.' + name):
                head = key[:-len(name)]
                votes[head] = votes.get(head, 0) + 1
    if not votes:
        return None
    best = max(votes, key=votes.get)
    return best if votes[best] * 2 >= len(own) else None


def check_state_fits(own: Mapping[str, torch.Tensor],
                     state: Mapping[str, object],
                     where: str,
                     raw_keys: Optional[Sequence[str]] = None) -> None:
    """Raise unless ``state`` fills exactly the weights of ``own``.

    Args:
        own (Mapping): The module's ``state_dict()``.
        state (Mapping): The checkpoint's tensors, as they will be loaded.
        where (str): Names the file and the module in the error.
        raw_keys (sequence[str], optional): The checkpoint's keys before
            any renaming, searched for a missing ``prefix``. Defaults to
            the keys of ``state``.

    Raises:
        RuntimeError: Some weight is missing (``num_batches_tracked``
            excepted), some tensor fits no weight, or a shape differs; the
            message counts each and shows examples.
    """
    missing = [
        k for k in own if k not in state and not k.endswith(OPTIONAL_SUFFIX)
    ]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f'{k}: checkpoint {_shape(state[k])}, model {tuple(own[k].shape)}'
        for k in state if k in own and _shape(state[k]) != own[k].shape
    ]
    if not (missing or unexpected or mismatched):
        return
    problems = []
    if missing:
        problems.append(f'{len(missing)} of the model\'s {len(own)} weights '
                        f'are not in the checkpoint ({_examples(missing)})')
    if unexpected:
        problems.append(f'{len(unexpected)} checkpoint tensors fit no weight '
                        f'({_examples(unexpected)})')
    if mismatched:
        problems.append(f'{len(mismatched)} shapes differ '
                        f'({"; ".join(mismatched[:SHOWN])})')
    message = f'{where}: ' + '; '.join(problems) + '.'
    prefix = suggest_prefix(missing,
                            list(state) if raw_keys is None else raw_keys)
    if prefix:
        message += (f' The checkpoint holds these weights under '
                    f'{prefix!r}: add prefix={prefix!r} to the init_cfg.')
    raise RuntimeError(message)


class PretrainedCheckpointMixin:
    """Load ``init_cfg`` ``Pretrained`` entries completely, or fail.

    Mix in before the :class:`~mmengine.model.BaseModule` base, e.g.
    ``class InceptionI3D(PretrainedCheckpointMixin, StagedBackbone)``.
    The other init configs and the children's own ``init_weights`` run
    first, as in mmengine; the checkpoints are loaded last.

    Subclasses may set :attr:`checkpoint_classifier` (key prefixes of the
    upstream classifier, dropped) and override :meth:`map_checkpoint`
    (rename upstream keys to the module's).
    """

    checkpoint_classifier: Tuple[str, ...] = ()

    def map_checkpoint(
            self,
            state: 'OrderedDict[str, object]') -> 'OrderedDict[str, object]':
        """Rename checkpoint keys (classifier dropped) to this module's.

        The identity by default.
        """
        return state

    def init_weights(self) -> None:
        """mmengine's ``init_weights``, with the ``Pretrained`` entries of
        ``init_cfg`` loaded by :meth:`load_pretrained`."""
        cfgs = self.init_cfg or []
        cfgs = [cfgs] if isinstance(cfgs, Mapping) else list(cfgs)
        pretrained = [cfg for cfg in cfgs if is_pretrained(cfg)]
        if not pretrained or self.is_init:
            super().init_weights()
            return
        own_cfg = self.init_cfg
        self.init_cfg = [cfg for cfg in cfgs if not is_pretrained(cfg)]
        try:
            super().init_weights()
        finally:
            self.init_cfg = own_cfg
        for cfg in pretrained:
            self.load_pretrained(cfg)

    def load_pretrained(self, cfg: Mapping) -> None:
        """Load one ``Pretrained`` config; see the module docstring.

        Raises:
            ValueError: ``cfg`` has keys ``Pretrained`` does not take.
            RuntimeError: The checkpoint does not fit this module.
        """
        unknown = sorted(set(cfg) - PRETRAINED_KEYS)
        if unknown:
            raise ValueError(f'{type(self).__name__} init_cfg Pretrained '
                             f'takes {sorted(PRETRAINED_KEYS)}; got also '
                             f'{unknown}.')
        filename = cfg['checkpoint']
        prefix = cfg.get('prefix')
        state = read_state(filename, prefix, cfg.get('map_location', 'cpu'))
        classifier = [
            k for k in state
            if k.startswith(tuple(self.checkpoint_classifier))
        ]
        features = OrderedDict(
            (k, v) for k, v in state.items() if k not in classifier)
        mapped = self.map_checkpoint(features)
        where = f'{filename} (Pretrained init of {type(self).__name__}'
        where += f', prefix {prefix!r})' if prefix else ')'
        check_state_fits(self.state_dict(), mapped, where, list(features))
        self.load_state_dict(mapped, strict=False)
        print_log(
            f'{type(self).__name__}: loaded {len(mapped)} tensors from '
            f'{filename}' + (f' (prefix {prefix!r})' if prefix else '') +
            (f'; dropped the classifier ({_examples(classifier)})'
             if classifier else ''),
            logger='current')
        if hasattr(self, '_params_init_info'):
            update_init_info(self, init_info=f'Pretrained: {filename}')
