# Copyright (c) mmamr contributors. All rights reserved.
"""AutoAttack: the standard cascade of parameter-free attacks."""
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import torch
from mmengine.registry import DefaultScope

from mmamr.common import unwrap_model
from mmamr.registry import ATTACKS
from .apgd import select_generators
from .attacked_forward import AttackedForward
from .base import (Attack, Generators, Inputs, check_generators,
                   full_precision, in_float32, model_mode)
from .budget import check_inside

VERSIONS = ('standard', )


class AutoAttackResult(NamedTuple):
    """What :meth:`AutoAttack.run` returns.

    Attributes:
        adv (dict): The adversarial inputs (a new dict like the inputs).
        robust (torch.Tensor): ``[N]`` bool, correct after every stage.
        clean (torch.Tensor): ``[N]`` bool, correct on the clean input.
        fooled_by (OrderedDict): Stage name -> ``[N]`` bool, the samples
            that stage fooled first (disjoint; their union with
            ``robust`` and the clean errors is the batch).
    """
    adv: Inputs
    robust: torch.Tensor
    clean: torch.Tensor
    fooled_by: 'OrderedDict[str, torch.Tensor]'


def standard_stages(steps: int = 100,
                    queries: int = 5000,
                    num_target_classes: int = 9) -> List[dict]:
    """The attacks of AutoAttack's standard L∞ version, in its order:
    APGD-CE, APGD-T (9 target classes), FAB-T, Square (5000 queries), one
    restart each. FAB-T is left out (not implemented here); in the
    authors' evaluations it rarely changes the robust accuracy left by
    APGD-T."""
    return [
        dict(type='APGD', name='APGD-CE', loss='ce', steps=steps),
        dict(
            type='APGDT',
            name='APGD-T',
            steps=steps,
            num_target_classes=num_target_classes),
        dict(type='Square', name='Square', queries=queries),
    ]


def copy_generators(generator: Optional[Generators]) -> Optional[Generators]:
    """Independent copies in the same state (None stays None)."""
    if generator is None:
        return None

    def copy(g: torch.Generator) -> torch.Generator:
        new = torch.Generator(device=g.device)
        new.set_state(g.get_state())
        return new

    if isinstance(generator, torch.Generator):
        return copy(generator)
    return [copy(g) for g in generator]


@ATTACKS.register_module()
class AutoAttack(Attack):
    r"""AutoAttack of "Reliable evaluation of adversarial robustness with
    an ensemble of diverse parameter-free attacks" (Croce & Hein, ICML
    2020), for several modalities: a cascade in which each attack runs
    only on the samples that the clean input and every earlier attack
    left correctly classified, so that a sample counts as robust only if
    every attack fails on it (the per-sample worst case). Run per target,
    it gives ✗R, ✗S and ✗RS.

    Standard version: :class:`APGD` with the cross-entropy, :class:`APGDT`
    and :class:`Square`, each with one restart, all with the budget
    ``eps``; FAB-T, the third attack of the original, is omitted (see
    :func:`standard_stages`). Each stage draws its random numbers from a
    copy of the call's generators in their state at the start, so with
    one generator per sample a stage treats a sample exactly as it would
    alone, and AutoAttack is at least as strong as each of its stages,
    sample by sample. As in the reference, a model whose logits differ
    between two forwards of the same input (a randomised defence) gets a
    warning: deterministic attacks then under-report, and need EOT.

    Distance Measure: Linf, per modality.

    Arguments:
        eps (dict): Maximum perturbation per modality, for every stage.
            (Default: ``dict(rgb=8/255, skeleton=8/255)``)
        version (str): ``'standard'``. (Default: ``'standard'``)
        attacks (list[dict], optional): Stage configs for
            ``mmamr.ATTACKS`` instead of the version's, with an optional
            ``name`` each; ``eps``, ``targets``, ``model_mode`` and
            ``fast_path`` are AutoAttack's. (Default: None)
        steps (int): Iterations of the APGD stages. (Default: 100)
        queries (int): Queries of the Square stage. (Default: 5000)
        num_target_classes (int): Target classes of APGD-T. (Default: 9)
        targets, model_mode, fast_path: See :class:`Attack`. AutoAttack
            is untargeted.

    Inputs, labels and output: see :class:`Attack`; :meth:`run` also
    returns which stage fooled which sample.

    Examples::
        >>> attack = AutoAttack(eps=dict(rgb=8/255, skeleton=8/255))
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Dict[str, float]] = None,
                 version: str = 'standard',
                 attacks: Optional[Sequence[dict]] = None,
                 steps: int = 100,
                 queries: int = 5000,
                 num_target_classes: int = 9,
                 **kwargs) -> None:
        if kwargs.get('targeted'):
            raise ValueError('AutoAttack is untargeted (APGD-T picks its own '
                             'targets); use APGD(targeted=True) for given '
                             'target labels.')
        super().__init__(eps, **kwargs)
        if version not in VERSIONS:
            raise ValueError(f'AutoAttack: version={version!r}; choose one '
                             f'of {VERSIONS} or give attacks=[...].')
        self.version = version
        if attacks is None:
            attacks = standard_stages(steps, queries, num_target_classes)
        elif isinstance(attacks, dict) or not attacks:
            raise ValueError('AutoAttack: attacks must be a non-empty list '
                             f'of attack configs; got {attacks!r}.')
        self.stages = OrderedDict()
        for i, cfg in enumerate(attacks):
            cfg = dict(cfg)
            name = cfg.pop('name', None) or str(cfg.get('type'))
            shared = sorted({'eps', 'targets', 'model_mode', 'fast_path'}
                            & set(cfg))
            if shared or cfg.get('targeted'):
                raise ValueError(
                    f'AutoAttack: attacks[{i}] = {cfg} sets '
                    f'{shared or ["targeted"]}; they are AutoAttack\'s own '
                    '(stages are untargeted).')
            if name in self.stages:
                raise ValueError(f'AutoAttack: two stages are named '
                                 f'{name!r}; give them distinct names.')
            with DefaultScope.overwrite_default_scope('mmamr'):
                stage = ATTACKS.build(
                    dict(
                        cfg,
                        eps=self.eps,
                        targets=self.targets,
                        model_mode=self.model_mode,
                        fast_path=self.fast_path))
            if not isinstance(stage, Attack):
                raise TypeError(f'AutoAttack: attacks[{i}] builds a '
                                f'{type(stage).__name__}, not an Attack.')
            self.stages[name] = stage

    def __call__(self,
                 model: Callable,
                 inputs: Inputs,
                 labels: torch.Tensor,
                 target_labels: Optional[torch.Tensor] = None,
                 generator: Optional[Generators] = None) -> Inputs:
        """Attack a batch; see :meth:`run` (this returns its ``adv``)."""
        if target_labels is not None:
            raise ValueError('target_labels given to AutoAttack, which is '
                             'untargeted.')
        return self.run(model, inputs, labels, generator).adv

    def run(self,
            model: Callable,
            inputs: Inputs,
            labels: torch.Tensor,
            generator: Optional[Generators] = None) -> AutoAttackResult:
        """Run the cascade on a batch.

        Args:
            model, inputs, labels, generator: As :meth:`Attack.__call__`.

        Returns:
            AutoAttackResult: The adversarial inputs, and per sample
            whether it is robust and which stage fooled it.
        """
        model = unwrap_model(model)
        clean = in_float32(self._check_call(model, inputs, labels, None))
        num = labels.shape[0]
        check_generators(generator, num, type(self).__name__)
        # As the stages (Attack.__call__): fp32, no autocast (D8).
        with torch.no_grad(), model_mode(model, self.model_mode), \
                full_precision(inputs):
            forward = AttackedForward(model, in_float32(inputs),
                                      self.modalities, num, self.fast_path)
            logits = forward(clean)
            # A tolerance for non-deterministic GPU kernels; dropout or
            # input noise changes logits far more.
            scale = 1e-4 * max(1., float(logits.abs().max()))
            if not torch.allclose(logits, forward(clean), rtol=0, atol=scale):
                warnings.warn(
                    'AutoAttack: the model returns different logits for the '
                    'same input (a randomised defence, or dropout in '
                    "model_mode='train'); deterministic attacks then "
                    'under-report, and need expectation over '
                    'transformations.')
        robust = logits.argmax(1) == labels
        correct = robust.clone()
        adv = {m: x.clone() for m, x in clean.items()}
        fooled_by = OrderedDict()
        for name, stage in self.stages.items():
            fooled_by[name] = self._run_stage(stage, model, inputs, labels,
                                              copy_generators(generator),
                                              robust, adv)
        check_inside(adv, clean, self.eps)
        out = {k: v.detach() for k, v in inputs.items()}
        out.update(adv)
        return AutoAttackResult(out, robust, correct, fooled_by)

    def _run_stage(self, stage: Attack, model: Callable, inputs: Inputs,
                   labels: torch.Tensor, generator: Optional[Generators],
                   robust: torch.Tensor, adv: Inputs) -> torch.Tensor:
        """Attack the still robust samples with ``stage``; write the ones
        it fools into ``adv`` and clear them in ``robust`` (in place).
        Returns the ``[N]`` mask of the samples it fooled."""
        fooled = torch.zeros_like(robust)
        index = robust.nonzero().squeeze(1)
        if index.numel() == 0:
            return fooled
        part = {k: v[index] for k, v in inputs.items()}
        out = stage(
            model,
            part,
            labels[index],
            generator=select_generators(generator, index.tolist()))
        with torch.no_grad(), model_mode(model, self.model_mode), \
                full_precision(part):
            forward = AttackedForward(model, in_float32(part), self.modalities,
                                      index.numel(), self.fast_path)
            pred = forward({m: out[m] for m in self.modalities}).argmax(1)
        hit = pred != labels[index]
        for m in self.modalities:
            adv[m][index[hit]] = out[m][hit]
        robust[index[hit]] = False
        fooled[index[hit]] = True
        return fooled
