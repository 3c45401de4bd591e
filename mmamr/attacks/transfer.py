# Copyright (c) mmamr contributors. All rights reserved.
"""Transfer attacks: adversarial examples crafted on another model."""
import os.path as osp
from typing import Callable, Dict, Optional, Union

import torch
from mmengine.registry import DefaultScope

from mmamr.common import unwrap_model
from mmamr.registry import ATTACKS
from .base import Attack, Generators, Inputs

# The attack run on the source model by default: the paper's PGD20.
DEFAULT_SOURCE_ATTACK = dict(type='PGD', steps=20)
SHARED = ('eps', 'targets', 'model_mode', 'fast_path')


@ATTACKS.register_module()
class Transfer(Attack):
    r"""A transfer (black-box) attack: ``attack`` crafts the adversarial
    inputs on the ``source`` model, and the attacked model is only
    evaluated on them (Papernot et al. 2016). As a sanity check of a
    white-box evaluation (Carlini et al. 2019, "On Evaluating Adversarial
    Robustness"): examples transferred from an undefended model should
    not fool a model more than white-box attacks on that model do; if
    they do, its gradients are masked.

    Distance Measure: Linf, per modality (the inner attack's budget).

    Arguments:
        source (callable or dict): The source model (any callable that
            :class:`Attack` accepts), or ``dict(config=..., checkpoint=...)``
            to build an mmamr/MMAction2 model from a config file and load
            its checkpoint, on first use (once per pair of files per
            process), on the inputs' device, in eval mode.
        attack (dict): Config in ``mmamr.ATTACKS`` of the attack on the
            source, without ``eps``, ``targets``, ``model_mode`` and
            ``fast_path`` (Transfer's own). (Default: ``dict(type='PGD',
            steps=20)``)
        eps, targets, model_mode, fast_path: See :class:`Attack`; the
            attack is untargeted.

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = Transfer(source=dict(config='configs/i3d_hcn_ntu.py',
        ...                               checkpoint='none/epoch_80.pth'))
        >>> adv_inputs = attack(defended_model, inputs, labels)
    """

    def __init__(self,
                 source: Union[Callable, Dict[str, str]],
                 attack: Optional[dict] = None,
                 eps: Optional[Dict[str, float]] = None,
                 **kwargs) -> None:
        if kwargs.get('targeted'):
            raise ValueError('Transfer is untargeted.')
        super().__init__(eps, **kwargs)
        if isinstance(source, dict):
            missing = [k for k in ('config', 'checkpoint') if k not in source]
            if missing or set(source) - {'config', 'checkpoint'}:
                raise ValueError('Transfer: source must be a model or '
                                 'dict(config=..., checkpoint=...); got '
                                 f'{source!r}.')
            for key in ('config', 'checkpoint'):
                if not osp.isfile(source[key]):
                    raise FileNotFoundError(
                        f'Transfer: source {key} {source[key]!r} does not '
                        'exist.')
        elif not callable(source):
            raise TypeError('Transfer: source must be a model or '
                            f'dict(config=..., checkpoint=...); got '
                            f'{type(source).__name__}.')
        self.source = source
        attack = dict(DEFAULT_SOURCE_ATTACK if attack is None else attack)
        shared = sorted(set(SHARED) & set(attack))
        if shared or attack.get('targeted'):
            raise ValueError(f'Transfer: attack={attack} sets '
                             f'{shared or ["targeted"]}; they are '
                             "Transfer's own (it is untargeted).")
        with DefaultScope.overwrite_default_scope('mmamr'):
            self.attack = ATTACKS.build(
                dict(
                    attack,
                    eps=self.eps,
                    targets=self.targets,
                    model_mode=self.model_mode,
                    fast_path=self.fast_path))

    def source_model(self, device: torch.device) -> Callable:
        """The source model, built and loaded on first use."""
        if not isinstance(self.source, dict):
            return self.source
        from mmamr.utils.checkpoint_model import load_model
        return load_model(
            osp.abspath(self.source['config']),
            osp.abspath(self.source['checkpoint'])).to(device)

    def __call__(self,
                 model: Callable,
                 inputs: Inputs,
                 labels: torch.Tensor,
                 target_labels: Optional[torch.Tensor] = None,
                 generator: Optional[Generators] = None) -> Inputs:
        """Attack the source model; the result is for ``model``.

        Args:
            model (callable): The attacked model (only checked: it must
                have the attacked modalities).
            inputs, labels, generator: As :meth:`Attack.__call__`; the
                inner attack draws from ``generator``.

        Returns:
            dict: The inputs with the attacked modalities replaced by the
            adversarial ones of the source model.
        """
        if target_labels is not None:
            raise ValueError('target_labels given to Transfer, which is '
                             'untargeted.')
        self._check_call(unwrap_model(model), inputs, labels, None)
        device = next(iter(inputs.values())).device
        return self.attack(
            self.source_model(device), inputs, labels, generator=generator)
