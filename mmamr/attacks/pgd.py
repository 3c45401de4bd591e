# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, Mapping, Optional

import torch

from mmamr.common import MODALITIES
from mmamr.registry import ATTACKS
from .attacked_forward import AttackedForward
from .base import Attack, Generators, Inputs, uniform_like
from .budget import check_budget, project
from .losses import ce_objective

DEFAULT_ALPHA = 2 / 255


@ATTACKS.register_module()
class PGD(Attack):
    r"""Multimodal PGD in the paper "Towards Deep Learning Models
    Resistant to Adversarial Attacks" (Madry et al., ICLR 2018), extended
    to several modalities as in Eq. 6-7 of the AMR paper: every attacked
    modality takes a signed-gradient step from the same forward/backward
    and is projected onto its own ε-ball.

    Distance Measure: Linf, per modality.

    Arguments:
        eps (dict): Maximum perturbation per modality.
            (Default: ``dict(rgb=8/255, skeleton=8/255)``)
        alpha (dict): Step size per modality.
            (Default: ``dict(rgb=2/255, skeleton=2/255)``)
        steps (int): Number of steps K. (Default: 10)
        random_start (bool): Start from a uniform point of the ε-ball,
            drawn from the call's ``generator`` (one for the batch, or one
            per sample). (Default: True)
        targets (str): ``'rgb'``, ``'skeleton'`` or ``'both'``.
            (Default: ``'both'``)
        targeted (bool): Descend the cross-entropy towards
            ``target_labels``. (Default: False)
        model_mode (str): ``'eval'`` or ``'train'``. (Default: ``'eval'``)
        best_iterate (bool): Return, per sample, the iterate with the
            highest loss (AutoAttack-style) instead of the last one (Eq. 7,
            the paper's choice). Costs one extra forward. (Default: False)
        fast_path (bool): See :class:`Attack`. (Default: True)

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = PGD(eps=dict(rgb=8/255, skeleton=8/255), steps=20)
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Mapping[str, float]] = None,
                 alpha: Optional[Mapping[str, float]] = None,
                 steps: int = 10,
                 random_start: bool = True,
                 best_iterate: bool = False,
                 **kwargs) -> None:
        super().__init__(eps, **kwargs)
        if alpha is None:
            alpha = dict.fromkeys(MODALITIES, DEFAULT_ALPHA)
        self.alpha = check_budget('alpha', alpha, self.modalities)
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f'steps={steps!r} must be an int >= 0.')
        self.steps = steps
        self.random_start = bool(random_start)
        self.best_iterate = bool(best_iterate)

    def objective(self, logits: torch.Tensor,
                  labels: torch.Tensor) -> torch.Tensor:
        """Per-sample loss ``[N]`` that the attack ascends."""
        return ce_objective(logits, labels, self.targeted)

    def init_point(self, clean: Inputs,
                   generator: Optional[Generators]) -> Inputs:
        """The clean inputs, or a uniform draw from the ε-ball.

        The modalities are drawn in the order of ``clean``; with one
        generator per sample, each sample's generator draws its own
        slice of each modality in that order (see :func:`uniform_like`).
        """
        if not self.random_start:
            return dict(clean)
        start = dict()
        for m, x in clean.items():
            delta = (2 * uniform_like(x, generator) - 1) * self.eps[m]
            start[m] = project(x + delta, x, self.eps[m], m)
        return start

    def perturb(self, forward: AttackedForward, clean: Inputs,
                labels: torch.Tensor,
                generator: Optional[Generators]) -> Inputs:
        adv = self.init_point(clean, generator)
        best: Optional[Dict] = None
        for _ in range(self.steps):
            # Fresh leaves; detach() also keeps the caller's tensors free
            # of requires_grad.
            adv = {m: x.detach().requires_grad_() for m, x in adv.items()}
            loss = self.objective(forward(adv), labels)
            # Sum: each sample's gradient depends on its own loss only.
            grads = torch.autograd.grad(loss.sum(), list(adv.values()))
            if self.best_iterate:
                best = keep_best(best, adv, loss)
            adv = {
                m:
                project(x.detach() + self.alpha[m] * g.sign(), clean[m],
                        self.eps[m], m)
                for (m, x), g in zip(adv.items(), grads)
            }
        if self.best_iterate:
            with torch.no_grad():
                best = keep_best(best, adv,
                                 self.objective(forward(adv), labels))
            adv = best['inputs']
        return adv


def keep_best(best: Optional[Dict], adv: Inputs, loss: torch.Tensor) -> Dict:
    """Update the per-sample best iterate with ``adv`` and its loss."""
    adv = {m: x.detach() for m, x in adv.items()}
    loss = loss.detach()
    if best is None:
        return dict(inputs=adv, loss=loss)
    better = loss > best['loss']
    inputs = {
        m: torch.where(
            better.view(-1, *[1] * (x.dim() - 1)), x, best['inputs'][m])
        for m, x in adv.items()
    }
    return dict(inputs=inputs, loss=torch.where(better, loss, best['loss']))
