# Copyright (c) mmamr contributors. All rights reserved.
"""Auto-PGD (APGD-CE, APGD-DLR) and APGD-T for two modalities."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch

from mmamr.registry import ATTACKS
from .attacked_forward import AttackedForward
from .base import Attack, Generators, Inputs, uniform_like
from .budget import project
from .losses import ce_objective, margin

LOSSES = ('ce', 'dlr')
# The constant of the DLR denominators, as in the reference code.
DLR_EPS = 1e-12


def dlr_objective(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The Difference of Logits Ratio loss (Croce & Hein 2020, Eq. 6) to
    ascend: ``−(z_y − max_{j≠y} z_j) / (z_π1 − z_π3)``, ``π`` ordering the
    logits decreasingly. Invariant to shifting and rescaling the logits,
    so a defence that only scales them (or saturates the softmax of the
    cross-entropy) cannot hide its decision boundary.

    Args:
        logits (torch.Tensor): ``[N, K]``, ``K >= 3``.
        labels (torch.Tensor): ``[N]``, the true labels.

    Returns:
        torch.Tensor: ``[N]``, positive iff misclassified.
    """
    if logits.shape[1] < 3:
        raise ValueError('The DLR loss needs at least 3 classes; the logits '
                         f'have shape {tuple(logits.shape)}.')
    top = logits.topk(3, dim=1).values
    return margin(logits, labels) / (top[:, 0] - top[:, 2] + DLR_EPS)


def dlr_targeted_objective(logits: torch.Tensor, labels: torch.Tensor,
                           target: torch.Tensor) -> torch.Tensor:
    """The targeted DLR loss of APGD-T (Croce & Hein 2020, Eq. 7) to
    ascend: ``−(z_y − z_t) / (z_π1 − (z_π3 + z_π4) / 2)``.

    Args:
        logits (torch.Tensor): ``[N, K]``, ``K >= 4``.
        labels (torch.Tensor): ``[N]``, the true labels ``y``.
        target (torch.Tensor): ``[N]``, the target classes ``t``.

    Returns:
        torch.Tensor: ``[N]``.
    """
    if logits.shape[1] < 4:
        raise ValueError('The targeted DLR loss needs at least 4 classes; '
                         f'the logits have shape {tuple(logits.shape)}.')
    top = logits.topk(4, dim=1).values
    own = logits.gather(1, labels[:, None]).squeeze(1)
    other = logits.gather(1, target[:, None]).squeeze(1)
    return -(own - other) / (
        top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + DLR_EPS)


def checkpoint_intervals(steps: int) -> tuple:
    """Lengths of APGD's checkpoint intervals, the integer form of the
    paper's ``p_0 = 0, p_1 = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} −
    0.03, 0.06)``: the first interval, its decrement and its minimum."""
    first = max(int(0.22 * steps), 1)
    decrement = max(int(0.03 * steps), 1)
    minimum = max(int(0.06 * steps), 1)
    return first, decrement, minimum


class RunResult(NamedTuple):
    """One APGD run on a batch: the highest-objective point ``best`` and
    its ``loss`` ``[N]``; ``fooled`` ``[N]`` (some iterate succeeded) and
    the last such iterate ``fooling``."""
    best: Inputs
    loss: torch.Tensor
    fooled: torch.Tensor
    fooling: Inputs


def where(mask: torch.Tensor, a: Inputs, b: Inputs) -> Inputs:
    """Per sample, ``a`` where ``mask`` ``[N]`` holds, else ``b``."""
    return {
        m: torch.where(mask.view(-1, *[1] * (x.dim() - 1)), x, b[m])
        for m, x in a.items()
    }


def copy_where(mask: torch.Tensor, src: Inputs, dst: Inputs) -> None:
    """``dst[m][i] = src[m][i]`` for the samples ``i`` where ``mask``
    ``[N]`` holds, in place (cheaper than ``where`` when few change)."""
    if not mask.any():
        return
    if mask.all():
        for m, x in src.items():
            dst[m].copy_(x)
        return
    for m, x in src.items():
        dst[m][mask] = x[mask]


Box = Tuple[torch.Tensor, torch.Tensor]


def feasible_box(clean: Inputs, eps: Dict[str, float]) -> Dict[str, Box]:
    """Per modality, the lowest and highest value each coordinate may take.

    The threat model's projection (:func:`project`: the ε-ball, the valid
    range, padding kept) acts coordinate by coordinate, so its set is a
    box and ``project(y) == clamp(y, low, high)`` with ``low =
    project(clean − ε)``, ``high = project(clean + ε)``. One ``clamp`` per
    projection keeps an APGD step's own work small next to the model's
    forward and backward; :func:`check_inside` verifies the result.
    """
    box = dict()
    for m, x in clean.items():
        low = project(x - eps[m], x, eps[m], m)
        box[m] = low, project(x + eps[m], x, eps[m], m)
    return box


def restrict(forward: AttackedForward, index: torch.Tensor,
             modalities: Sequence[str]) -> AttackedForward:
    """The attacked model on the samples ``index`` of its batch only (the
    fast path recomputes the untouched branch for them, once)."""
    inputs = {k: v[index] for k, v in forward.inputs.items()}
    return AttackedForward(forward.model, inputs, modalities, len(index),
                           forward.fast)


def select_generators(generator: Optional[Generators],
                      index: List[int]) -> Optional[Generators]:
    """The generators of the samples ``index``: per-sample generators are
    selected, one batch generator (or None) is kept."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    return [generator[i] for i in index]


@ATTACKS.register_module()
class APGD(Attack):
    r"""Auto-PGD in the paper "Reliable evaluation of adversarial
    robustness with an ensemble of diverse parameter-free attacks" (Croce
    & Hein, ICML 2020), for several modalities: every attacked modality
    takes its step from the same forward/backward and stays in its own
    ε-ball, as in :class:`PGD`.

    Per sample: a random start on the surface of the ε-boxes; steps with
    momentum 0.75, ``z = Π(x_k + η_m sign(∇_m)), x_{k+1} = Π(x_k +
    0.75 (z − x_k) + 0.25 (x_k − x_{k−1}))`` (no momentum in the first
    step); the step sizes start at ``η_m = 2 ε_m`` and are halved together
    at the paper's checkpoints (after 22, 41, 57, ... % of the steps) when
    fewer than ``rho`` of the steps since the last checkpoint raised the
    objective, or when the step was not halved at the last checkpoint and
    the best objective has not improved since; a halving restarts from
    the best point. The attack returns, per sample, the last iterate that
    succeeded, else the point of highest objective (of all restarts);
    samples already misclassified (targeted: at their target) are not
    attacked and returned clean.

    Differences to the reference code (fra31/auto-attack), each a
    detail: the first checkpoint counts the first step as raising the
    objective when it beats the start (the reference compares with an
    unfilled zero); the last step's gradient, never used, is not computed.

    Distance Measure: Linf, per modality.

    Arguments:
        eps (dict): Maximum perturbation per modality.
            (Default: ``dict(rgb=8/255, skeleton=8/255)``)
        steps (int): Iterations per restart. (Default: 100, AutoAttack's)
        loss (str): ``'ce'`` (APGD-CE) or ``'dlr'`` (APGD-DLR, needs
            K >= 3 classes; untargeted only). (Default: ``'ce'``)
        restarts (int): Random restarts; each attacks only the samples
            that the previous ones did not fool. (Default: 1)
        rho (float): Fraction of objective-raising steps below which a
            checkpoint halves the step. (Default: 0.75)
        momentum (float): Weight of the new step against the previous
            update. (Default: 0.75)
        targets, targeted, model_mode, fast_path: See :class:`Attack`
            (targeted: descend the cross-entropy towards
            ``target_labels``).

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = APGD(eps=dict(rgb=8/255, skeleton=8/255), loss='dlr')
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Dict[str, float]] = None,
                 steps: int = 100,
                 loss: str = 'ce',
                 restarts: int = 1,
                 rho: float = 0.75,
                 momentum: float = 0.75,
                 **kwargs) -> None:
        super().__init__(eps, **kwargs)
        name = type(self).__name__
        for key, value in (('steps', steps), ('restarts', restarts)):
            if (isinstance(value, bool) or not isinstance(value, int)
                    or value < 1):
                raise ValueError(f'{name}: {key}={value!r} must be an int '
                                 '>= 1.')
        if loss not in LOSSES:
            raise ValueError(f'{name}: loss={loss!r}; choose one of '
                             f'{LOSSES}.')
        if self.targeted and loss == 'dlr':
            raise ValueError(f'{name}: the DLR loss is untargeted; use '
                             "loss='ce' with target_labels, or APGDT.")
        if not 0 <= rho <= 1 or not 0 < momentum <= 1:
            raise ValueError(f'{name}: rho={rho!r} must lie in [0, 1] and '
                             f'momentum={momentum!r} in (0, 1].')
        self.steps = steps
        self.loss = loss
        self.restarts = restarts
        self.rho = float(rho)
        self.momentum = float(momentum)

    def objective(self,
                  logits: torch.Tensor,
                  labels: torch.Tensor,
                  target: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Per-sample objective ``[N]`` to ascend (``target``: APGDT)."""
        if self.loss == 'dlr':
            return dlr_objective(logits, labels)
        return ce_objective(logits, labels, self.targeted)

    def succeeded(self, logits: torch.Tensor,
                  labels: torch.Tensor) -> torch.Tensor:
        """``[N]``: misclassified (targeted: classified as the target)."""
        pred = logits.argmax(1)
        return pred == labels if self.targeted else pred != labels

    def perturb(self, forward: AttackedForward, clean: Inputs,
                labels: torch.Tensor,
                generator: Optional[Generators]) -> Inputs:
        with torch.no_grad():
            logits = forward(clean)
        done, out, out_loss = self.clean_state(logits, clean, labels)
        for _ in range(self.restarts):
            self.run_remaining(forward, clean, labels, generator, done, out,
                               out_loss)
        return out

    def clean_state(self, logits: torch.Tensor, clean: Inputs,
                    labels: torch.Tensor) -> tuple:
        """From the clean logits: whether each sample already succeeds
        (AutoAttack's hygiene: robust only if correct), the output (the
        clean inputs, to be overwritten) and its objective."""
        done = self.succeeded(logits, labels)
        out = {m: x.clone() for m, x in clean.items()}
        out_loss = torch.full(
            labels.shape,
            float('-inf'),
            dtype=logits.dtype,
            device=logits.device)
        return done, out, out_loss

    def run_remaining(self,
                      forward: AttackedForward,
                      clean: Inputs,
                      labels: torch.Tensor,
                      generator: Optional[Generators],
                      done: torch.Tensor,
                      out: Inputs,
                      out_loss: torch.Tensor,
                      target: Optional[torch.Tensor] = None) -> None:
        """One run on the samples not yet ``done``; merge it into ``out``
        (in place): a success wins, else the higher objective."""
        index = (~done).nonzero().squeeze(1)
        if index.numel() == 0:
            return
        if index.numel() < labels.numel():
            forward = restrict(forward, index, self.modalities)
            generator = select_generators(generator, index.tolist())
        part = {m: x[index] for m, x in clean.items()}
        run = self.single_run(forward, part, labels[index], generator,
                              None if target is None else target[index])
        better = ~run.fooled & (run.loss > out_loss[index])
        point = where(run.fooled, run.fooling, run.best)
        keep = run.fooled | better
        for m, x in point.items():
            out[m][index[keep]] = x[keep]
        out_loss[index[better]] = run.loss[better]
        done[index[run.fooled]] = True

    def start(self, clean: Inputs, generator: Optional[Generators]) -> Inputs:
        """A uniform direction scaled to the surface of each ε-box (the
        reference's start), projected onto the valid range."""
        start = dict()
        for m, x in clean.items():
            t = 2 * uniform_like(x, generator) - 1
            norm = t.flatten(1).abs().amax(1).clamp_min(DLR_EPS)
            t = t / norm.view(-1, *[1] * (x.dim() - 1))
            start[m] = project(x + self.eps[m] * t, x, self.eps[m], m)
        return start

    def evaluate(self, forward: AttackedForward, x: Inputs,
                 labels: torch.Tensor, target: Optional[torch.Tensor],
                 with_grad: bool) -> tuple:
        """Objective ``[N]``, logits and (``with_grad``) input gradients at
        ``x``, from one forward (and one backward)."""
        if not with_grad:
            with torch.no_grad():
                logits = forward(x)
                return self.objective(logits, labels, target), logits, None
        leaves = {m: v.detach().requires_grad_() for m, v in x.items()}
        logits = forward(leaves)
        loss = self.objective(logits, labels, target)
        # Sum: each sample's gradient depends on its own objective only.
        grads = torch.autograd.grad(loss.sum(), list(leaves.values()))
        return loss.detach(), logits.detach(), dict(zip(leaves, grads))

    def single_run(self,
                   forward: AttackedForward,
                   clean: Inputs,
                   labels: torch.Tensor,
                   generator: Optional[Generators],
                   target: Optional[torch.Tensor] = None) -> RunResult:
        """APGD from one random start (Algorithm 1 of the paper)."""
        x = self.start(clean, generator)
        loss, logits, grad = self.evaluate(forward, x, labels, target, True)
        fooled = self.succeeded(logits, labels)
        # Copies: updated in place, sample by sample, below.
        fooling = {m: v.clone() for m, v in x.items()}
        best = {m: v.clone() for m, v in x.items()}
        best_grad = {m: v.clone() for m, v in grad.items()}
        best_loss = loss.clone()
        bounds = feasible_box(clean, self.eps)
        num = labels.shape[0]
        # η_m = scale · ε_m: one schedule for all modalities of a sample,
        # since they share one objective.
        scale = torch.full((num, ), 2., dtype=loss.dtype, device=loss.device)
        interval, decrement, minimum = checkpoint_intervals(self.steps)
        since_check, raised = 0, torch.zeros_like(loss)
        best_at_check = best_loss.clone()
        halved_at_check = torch.ones_like(fooled)
        previous, prev_loss = x, loss
        for i in range(self.steps):
            with torch.no_grad():
                a = self.momentum if i > 0 else 1.
                moved = dict()
                for m, xm in x.items():
                    low, high = bounds[m]
                    eta = scale.view(-1, *[1] * (xm.dim() - 1)) * self.eps[m]
                    # In place in the gradient's storage (not needed after:
                    # best_grad holds copies): z = Π(x + η sign(∇)), then
                    # Π(a z + 2 (1 − a) x − (1 − a) x_prev), which is
                    # x + a (z − x) + (1 − a) (x − x_prev).
                    z = grad[m].sign_().mul_(eta).add_(xm).clamp_(low, high)
                    if a < 1:
                        z.mul_(a).add_(xm, alpha=2 * (1 - a))
                        z.sub_(previous[m], alpha=1 - a).clamp_(low, high)
                    moved[m] = z
                previous, x = x, moved
            last = i == self.steps - 1
            loss, logits, grad = self.evaluate(forward, x, labels, target,
                                               not last)
            now = self.succeeded(logits, labels)
            copy_where(now, x, fooling)
            fooled = fooled | now
            raised = raised + (loss > prev_loss).to(loss.dtype)
            prev_loss = loss
            improved = loss > best_loss
            copy_where(improved, x, best)
            best_loss = torch.where(improved, loss, best_loss)
            if last:
                break
            copy_where(improved, grad, best_grad)
            since_check += 1
            if since_check < interval:
                continue
            halve = (raised
                     <= interval * self.rho) | (~halved_at_check &
                                                (best_at_check >= best_loss))
            halved_at_check, best_at_check = halve, best_loss
            scale = torch.where(halve, scale / 2, scale)
            # x and grad are this step's own tensors: safe to overwrite.
            copy_where(halve, best, x)
            copy_where(halve, best_grad, grad)
            since_check, raised = 0, torch.zeros_like(loss)
            interval = max(interval - decrement, minimum)
        return RunResult(best, best_loss, fooled, fooling)


@ATTACKS.register_module()
class APGDT(APGD):
    r"""APGD-T of Croce & Hein (ICML 2020): APGD on the targeted DLR loss
    towards each of the ``num_target_classes`` classes ranked highest
    after the true one on the clean input, in turn, each run on the
    samples not yet misclassified. Its goal is a misclassification (the
    attack is untargeted: it takes the true labels); the targets only
    steer the search.

    Distance Measure: Linf, per modality.

    Arguments:
        num_target_classes (int): Target classes tried, at most ``K − 1``.
            (Default: 9, AutoAttack's)
        eps, steps, restarts (per target class), rho, momentum, targets,
        model_mode, fast_path: As :class:`APGD`.

    Inputs, labels and output: see :class:`Attack` (needs K >= 4).

    Examples::
        >>> attack = APGDT(eps=dict(rgb=8/255, skeleton=8/255))
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Dict[str, float]] = None,
                 steps: int = 100,
                 num_target_classes: int = 9,
                 **kwargs) -> None:
        if kwargs.pop('targeted', False):
            raise ValueError('APGDT picks its own target classes and counts '
                             'any misclassification; for given targets use '
                             "APGD(loss='ce', targeted=True).")
        if kwargs.pop('loss', 'dlr') != 'dlr':
            raise ValueError('APGDT optimises the targeted DLR loss only.')
        super().__init__(eps, steps=steps, loss='dlr', **kwargs)
        if (isinstance(num_target_classes, bool)
                or not isinstance(num_target_classes, int)
                or num_target_classes < 1):
            raise ValueError(f'APGDT: num_target_classes='
                             f'{num_target_classes!r} must be an int >= 1.')
        self.num_target_classes = num_target_classes

    def objective(self,
                  logits: torch.Tensor,
                  labels: torch.Tensor,
                  target: Optional[torch.Tensor] = None) -> torch.Tensor:
        return dlr_targeted_objective(logits, labels, target)

    def perturb(self, forward: AttackedForward, clean: Inputs,
                labels: torch.Tensor,
                generator: Optional[Generators]) -> Inputs:
        with torch.no_grad():
            logits = forward(clean)
        if logits.shape[1] < 4:
            raise ValueError('APGDT needs at least 4 classes; the model has '
                             f'{logits.shape[1]}.')
        done, out, out_loss = self.clean_state(logits, clean, labels)
        ranked = logits.argsort(dim=1, descending=True)
        for rank in range(
                1,
                min(self.num_target_classes, ranked.shape[1] - 1) + 1):
            for _ in range(self.restarts):
                self.run_remaining(forward, clean, labels, generator, done,
                                   out, out_loss, ranked[:, rank])
        return out
