# Copyright (c) mmamr contributors. All rights reserved.
from typing import Dict, Mapping, Optional, Tuple

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
        best_iterate (bool): Return, per sample, the worst iterate for
            the model instead of the last one (Eq. 7, the paper's choice):
            a misclassified iterate if any is (targeted: one classified
            as the target), the highest-loss of those, else the
            highest-loss iterate; judged on the logits of the step's own
            forward. A sample broken at any step then counts as broken
            (AutoAttack's robust accuracy). Costs one extra forward per
            restart. (Default: False)
        restarts (int): Runs of the attack, each from a new random start
            drawn from the same ``generator`` (each sample's generator
            continues its stream, so restart ``r`` of a sample is the
            same in any batch); per sample the worst result wins by the
            rule of ``best_iterate`` (over each run's last iterate, or
            over all iterates with ``best_iterate``). The first restart
            is the single run's draw, so a sample broken with 1 restart
            stays broken with more. Needs ``random_start``. Costs
            ``restarts`` times the steps, plus one forward per restart.
            (Default: 1, the paper's setting)
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
                 restarts: int = 1,
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
        if (isinstance(restarts, bool) or not isinstance(restarts, int)
                or restarts < 1):
            raise ValueError(f'restarts={restarts!r} must be an int >= 1.')
        if restarts > 1 and not self.random_start:
            raise ValueError(f'restarts={restarts} needs random_start=True: '
                             'runs from the clean input are all the same.')
        self.restarts = restarts

    def objective(self, logits: torch.Tensor,
                  labels: torch.Tensor) -> torch.Tensor:
        """Per-sample loss ``[N]`` that the attack ascends."""
        return ce_objective(logits, labels, self.targeted)

    def fooled(self, logits: torch.Tensor,
               labels: torch.Tensor) -> torch.Tensor:
        """bool ``[N]``: the attack succeeded on the sample (top-1 is not
        the label; targeted: top-1 is the target label)."""
        top1 = logits.argmax(1)
        return top1 == labels if self.targeted else top1 != labels

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
        # Without restarts or best_iterate nothing is compared: the last
        # iterate, with no extra forward (the paper's PGD, bit for bit).
        track = self.best_iterate or self.restarts > 1
        best: Optional[Dict] = None
        for _ in range(self.restarts):
            adv, best = self.run_once(forward, clean, labels, generator, best)
            if track:
                with torch.no_grad():
                    logits = forward(adv)
                best = keep_best(best, adv, self.objective(logits, labels),
                                 self.fooled(logits, labels))
        return best['inputs'] if track else adv

    def run_once(self, forward: AttackedForward, clean: Inputs,
                 labels: torch.Tensor, generator: Optional[Generators],
                 best: Optional[Dict]) -> Tuple[Inputs, Optional[Dict]]:
        """One run from a new start; returns its last iterate and
        ``best`` updated with its earlier iterates (``best_iterate``)."""
        adv = self.init_point(clean, generator)
        for _ in range(self.steps):
            # Fresh leaves; detach() also keeps the caller's tensors free
            # of requires_grad.
            adv = {m: x.detach().requires_grad_() for m, x in adv.items()}
            logits = forward(adv)
            loss = self.objective(logits, labels)
            # Sum: each sample's gradient depends on its own loss only.
            grads = torch.autograd.grad(loss.sum(), list(adv.values()))
            if self.best_iterate:
                best = keep_best(best, adv, loss,
                                 self.fooled(logits.detach(), labels))
            adv = {
                m:
                project(x.detach() + self.alpha[m] * g.sign(), clean[m],
                        self.eps[m], m)
                for (m, x), g in zip(adv.items(), grads)
            }
        return adv, best


def keep_best(best: Optional[Dict], adv: Inputs, loss: torch.Tensor,
              fooled: torch.Tensor) -> Dict:
    """Update the per-sample worst point with ``adv``.

    A point that fools the model beats one that does not; between two
    that agree, the higher loss wins (for fooling points: the one
    further past the decision boundary by the attack's own measure, the
    less likely to flip back under another forward's rounding), and ties
    keep the earlier point.

    Args:
        best (dict, optional): ``inputs``, ``loss`` ``[N]`` and ``fooled``
            ``[N]`` of the points so far; None at first.
        adv (dict): The new point.
        loss (torch.Tensor): ``[N]``, its loss.
        fooled (torch.Tensor): bool ``[N]``, whether it fools the model.

    Returns:
        dict: The updated ``best``.
    """
    adv = {m: x.detach() for m, x in adv.items()}
    loss, fooled = loss.detach(), fooled.detach()
    if best is None:
        return dict(inputs=adv, loss=loss, fooled=fooled)
    better = (fooled & ~best['fooled']) | ((fooled == best['fooled']) &
                                           (loss > best['loss']))
    inputs = {
        m: torch.where(
            better.view(-1, *[1] * (x.dim() - 1)), x, best['inputs'][m])
        for m, x in adv.items()
    }
    return dict(
        inputs=inputs,
        loss=torch.where(better, loss, best['loss']),
        fooled=fooled | best['fooled'])
