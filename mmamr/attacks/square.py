# Copyright (c) mmamr contributors. All rights reserved.
"""The Square attack (score-based, no gradients) for two modalities."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

from mmamr.registry import ATTACKS
from .apgd import restrict, select_generators, where
from .attacked_forward import AttackedForward
from .base import Attack, Generators, Inputs, uniform_like
from .budget import project
from .losses import margin

# p_init is divided by the second number after the first (rescaled)
# iteration count: the schedule of the reference code, for 10,000 queries.
P_SCHEDULE = ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
              (4000, 64), (6000, 128), (8000, 256))


def p_selection(p_init: float, iteration: int, queries: int) -> float:
    """Fraction of the input a window covers at ``iteration``: the
    reference schedule, rescaled from 10,000 to ``queries`` queries."""
    it = int(iteration / queries * 10000)
    for bound, divisor in P_SCHEDULE:
        if it <= bound:
            return p_init / divisor
    return p_init / 512


def channel_dim(modality: str, x: torch.Tensor) -> int:
    """The axis whose entries get their own sign in a window: RGB
    ``[N, (V,) 3, T, H, W]`` (``[N, 3, H, W]`` for images) and skeleton
    ``[N, (V,) M, T, J, C]`` coordinates. Every other non-batch axis is
    one side of the windows."""
    if modality == 'skeleton':
        return x.dim() - 1
    return x.dim() - (4 if x.dim() >= 5 else 3)


def draw(num: int, shape: Tuple[int, ...], like: torch.Tensor,
         generator: Optional[Generators]) -> torch.Tensor:
    """Uniform ``[num, *shape]`` on ``like``'s device, one sample's draw
    per generator (see :func:`uniform_like`)."""
    template = torch.empty((num, *shape), dtype=like.dtype, device=like.device)
    return uniform_like(template, generator)


def random_signs(num: int, shape: Tuple[int, ...], like: torch.Tensor,
                 generator: Optional[Generators]) -> torch.Tensor:
    """±1 with equal probability, ``[num, *shape]``."""
    return torch.where(draw(num, shape, like, generator) < 0.5, -1., 1.)


class UniformStream:
    """``width`` uniform numbers per sample and iteration, drawn from each
    sample's generator for ``block`` iterations at once (one call per
    sample and block instead of per iteration). A sample's numbers depend
    only on its generator: every sample refills at the same iterations.

    Args:
        generator (torch.Generator or sequence, optional): As
            :func:`uniform_like`, for the ``num`` samples.
        num (int): Samples.
        width (int): Numbers per sample and iteration.
        like (torch.Tensor): Dtype and device of the numbers.
        block (int): Iterations per draw. Defaults to 64.
    """

    def __init__(self,
                 generator: Optional[Generators],
                 num: int,
                 width: int,
                 like: torch.Tensor,
                 block: int = 64) -> None:
        self.generator = generator
        self.block = block
        self.like = like
        self.buffer = like.new_zeros((num, block, width))
        self.pos = block

    def next(self, index: torch.Tensor) -> torch.Tensor:
        """The next ``[len(index), width]`` numbers of the samples
        ``index``; samples outside it must not be asked for again."""
        if self.pos == self.block:
            gens = select_generators(self.generator, index.tolist())
            self.buffer[index] = draw(index.numel(),
                                      tuple(self.buffer.shape[1:]), self.like,
                                      gens)
            self.pos = 0
        self.pos += 1
        return self.buffer[index, self.pos - 1]


@ATTACKS.register_module()
class Square(Attack):
    r"""The Square attack in the paper "Square Attack: a query-efficient
    black-box adversarial attack via random search" (Andriushchenko et
    al., ECCV 2020), L∞ version, for several modalities. It uses only the
    model's scores, never its gradients, so it is the check against
    gradient masking: a white-box attack weaker than Square points to
    masked or obfuscated gradients.

    Per sample: start at vertical stripes (each channel and position
    along the last window axis at ``±ε``, constant along the others);
    then, ``queries`` times, move one random window per attacked modality
    to a random vertex of its ε-box (one sign per channel) and keep the
    move if it lowers the margin loss ``z_y − max_{j≠y} z_j`` (targeted:
    the cross-entropy to the target) or succeeds; a sample stops at its
    first success. A window covers the fraction ``p`` (from ``p_init``,
    shrinking on the reference's schedule rescaled to ``queries``) of
    the modality's positions: a box whose side along each axis is that
    axis' length times ``p^(1/D)``, ``D`` axes (RGB: time, height and
    width; skeleton: persons, frames and joints; channels: RGB colours,
    skeleton xyz). Windows, signs and stripes are drawn per sample from
    the call's generators (the reference draws one window per batch), so
    a sample's attack does not depend on its batch.

    Samples misclassified (targeted: at their target) on the clean input
    are returned clean; restarts attack only the samples not yet fooled.

    Distance Measure: Linf, per modality.

    Arguments:
        eps (dict): Maximum perturbation per modality.
            (Default: ``dict(rgb=8/255, skeleton=8/255)``)
        queries (int): Queries (forward passes) per restart after the
            initial one. (Default: 5000, AutoAttack's)
        p_init (float): Initial window fraction. (Default: 0.8)
        restarts (int): Random restarts. (Default: 1)
        targets, targeted, model_mode, fast_path: See :class:`Attack`.

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = Square(eps=dict(rgb=8/255, skeleton=8/255))
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self,
                 eps: Optional[Dict[str, float]] = None,
                 queries: int = 5000,
                 p_init: float = 0.8,
                 restarts: int = 1,
                 **kwargs) -> None:
        super().__init__(eps, **kwargs)
        for key, value in (('queries', queries), ('restarts', restarts)):
            if (isinstance(value, bool) or not isinstance(value, int)
                    or value < 1):
                raise ValueError(f'Square: {key}={value!r} must be an int '
                                 '>= 1.')
        if not 0 < p_init <= 1:
            raise ValueError(f'Square: p_init={p_init!r} must lie in '
                             '(0, 1].')
        self.queries = queries
        self.p_init = float(p_init)
        self.restarts = restarts

    def scores(self, logits: torch.Tensor,
               labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``[N]`` margins (<= 0: success) and losses to lower."""
        if self.targeted:
            return margin(logits, labels), F.cross_entropy(
                logits, labels, reduction='none')
        own_margin = -margin(logits, labels)
        return own_margin, own_margin

    def perturb(self, forward: AttackedForward, clean: Inputs,
                labels: torch.Tensor,
                generator: Optional[Generators]) -> Inputs:
        with torch.no_grad():
            logits = forward(clean)
            done = self.scores(logits, labels)[0] <= 0
            out = {m: x.clone() for m, x in clean.items()}
            out_loss = torch.full(
                labels.shape,
                float('inf'),
                dtype=logits.dtype,
                device=logits.device)
            for _ in range(self.restarts):
                index = (~done).nonzero().squeeze(1)
                if index.numel() == 0:
                    break
                run_forward, gens = forward, generator
                if index.numel() < labels.numel():
                    run_forward = restrict(forward, index, self.modalities)
                    gens = select_generators(generator, index.tolist())
                part = {m: x[index] for m, x in clean.items()}
                best, loss, fooled = self.single_run(run_forward, part,
                                                     labels[index], gens)
                keep = fooled | (loss < out_loss[index])
                for m, x in best.items():
                    out[m][index[keep]] = x[keep]
                out_loss[index[keep]] = loss[keep]
                done[index[fooled]] = True
        return out

    @staticmethod
    def draws_per_window(modality: str, x: torch.Tensor) -> int:
        """Uniform numbers a window of ``x`` takes per sample: one per
        window axis (its position), one per channel (its sign)."""
        return x.dim() - 2 + x.shape[channel_dim(modality, x)]

    def window(self, modality: str, x: torch.Tensor, p: float,
               uniform: torch.Tensor) -> torch.Tensor:
        """``[n, ...]`` like ``x``: a random window per sample at a random
        vertex of the ε-box (``±2ε``, to be projected), zero elsewhere;
        positions and signs from ``uniform`` ``[n, draws_per_window]``."""
        num, cdim = x.shape[0], channel_dim(modality, x)
        axes = [d for d in range(1, x.dim()) if d != cdim]
        sizes = [x.shape[d] for d in axes]
        offsets = uniform[:, :len(axes)]
        signs = torch.where(uniform[:, len(axes):] < 0.5, -1., 1.)
        inside = torch.ones(
            (num, ) + (1, ) * (x.dim() - 1), dtype=torch.bool, device=x.device)
        for k, (axis, size) in enumerate(zip(axes, sizes)):
            side = min(max(round(size * p**(1 / len(axes))), 1), size)
            start = (offsets[:, k] * (size - side + 1)).long()
            start = start.clamp(max=size - side)
            pos = torch.arange(size, device=x.device)
            hit = (pos >= start[:, None]) & (pos < start[:, None] + side)
            shape = [num] + [1] * (x.dim() - 1)
            shape[axis] = size
            inside = inside & hit.view(shape)
        shape = [num] + [1] * (x.dim() - 1)
        shape[cdim] = x.shape[cdim]
        return inside * signs.view(shape) * (2 * self.eps[modality])

    def stripes(self, clean: Inputs,
                generator: Optional[Generators]) -> Inputs:
        """The start: ``±ε`` per channel and position along the last
        window axis, constant along the other axes."""
        start = dict()
        for m, x in clean.items():
            cdim = channel_dim(m, x)
            last = max(d for d in range(1, x.dim()) if d != cdim)
            shape = [1] * (x.dim() - 1)
            shape[cdim - 1] = x.shape[cdim]
            shape[last - 1] = x.shape[last]
            signs = random_signs(x.shape[0], tuple(shape), x, generator)
            start[m] = project(x + self.eps[m] * signs, x, self.eps[m], m)
        return start

    def single_run(
        self, forward: AttackedForward, clean: Inputs, labels: torch.Tensor,
        generator: Optional[Generators]
    ) -> Tuple[Inputs, torch.Tensor, torch.Tensor]:
        """Random search from the stripes; per sample, the best point, its
        loss and whether it succeeded."""
        best = self.stripes(clean, generator)
        best_margin, best_loss = self.scores(forward(best), labels)
        # Samples of the current forward (all, then the ones still
        # unfooled once they are at most half of it): the fast path
        # recomputes the untouched branch at each shrink, log2(N) times.
        index = torch.arange(labels.shape[0], device=labels.device)
        current = forward
        widths = [self.draws_per_window(m, x) for m, x in best.items()]
        stream = UniformStream(generator, labels.shape[0], sum(widths),
                               best_loss)
        for i in range(self.queries):
            active = best_margin[index] > 0
            if not active.any():
                break
            if 2 * int(active.sum()) <= index.numel():
                index = index[active]
                current = restrict(forward, index, self.modalities)
                active = active[active]
            uniform = stream.next(index).split(widths, dim=1)
            p = p_selection(self.p_init, i, self.queries)
            trial = dict()
            for (m, x), u in zip(best.items(), uniform):
                moved = x[index] + self.window(m, x[index], p, u)
                trial[m] = project(moved, clean[m][index], self.eps[m], m)
            new_margin, new_loss = self.scores(current(trial), labels[index])
            lower = active & (new_loss < best_loss[index])
            take = lower | (active & (new_margin <= 0))
            best_loss[index] = torch.where(lower, new_loss, best_loss[index])
            best_margin[index] = torch.where(take, new_margin,
                                             best_margin[index])
            chosen = where(take, trial, {m: x[index] for m, x in best.items()})
            for m, x in chosen.items():
                best[m][index] = x
        return best, best_loss, best_margin <= 0
