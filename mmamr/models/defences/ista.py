# Copyright (c) mmamr contributors. All rights reserved.
"""Batched ISTA for the lasso ``min_h ½‖D h − f‖² + λ‖h‖₁``."""
from typing import Tuple

import torch
import torch.nn.functional as F


def lipschitz_constant(dictionary: torch.Tensor) -> torch.Tensor:
    """``λ_max(DᵀD) = ‖D‖₂²``, the Lipschitz constant of the gradient of
    ``½‖D h − f‖²``; ISTA converges for steps up to its inverse.

    Computed in float64 with ``torch.linalg.matrix_norm`` (the reference
    used ``torch.eig``, removed from PyTorch).

    Args:
        dictionary (torch.Tensor): ``D`` ``[d, K]``.

    Returns:
        torch.Tensor: A scalar of ``D``'s dtype and device.
    """
    norm = torch.linalg.matrix_norm(dictionary.detach().double(), ord=2)
    return (norm**2).to(dictionary.dtype)


def ista(dictionary: torch.Tensor,
         feats: torch.Tensor,
         lam: float,
         step: float,
         tol: float = 8e-4,
         max_iters: int = 2000) -> Tuple[torch.Tensor, int]:
    """Sparse codes of ``feats`` over ``dictionary`` by ISTA.

    Iterates ``h ← S_{step·λ}(h − step · Dᵀ(D h − f))`` from ``h = 0``
    (``S`` the soft threshold) for all rows at once: with ``G = DᵀD``
    and ``b = Dᵀf`` precomputed, one iteration is one ``[B, K] × [K, K]``
    product. Stops when every row's update is small, ``max_b ‖Δh_b‖ <
    tol`` (the reference's rule ``‖Δh‖ < 8e-4``, applied per sample so
    that a sample's codes do not depend on its batch mates' count), or
    after ``max_iters`` iterations. Every iteration stays in the autograd
    graph, so the codes are differentiable w.r.t. ``feats`` (white-box
    attacks differentiate through the unrolled iterations); the stopping
    test itself is not differentiated.

    Args:
        dictionary (torch.Tensor): ``D`` ``[d, K]``, atoms as columns.
        feats (torch.Tensor): ``f`` ``[B, d]``.
        lam (float): ``λ``, the weight of the L1 penalty.
        step (float): ``α``; ISTA needs ``α · λ_max(DᵀD) <= 1`` (the
            caller checks, see :func:`lipschitz_constant`).
        tol (float): Stopping threshold on ``‖Δh_b‖``. Defaults to 8e-4.
        max_iters (int): Iteration cap. Defaults to 2000.

    Returns:
        tuple: codes ``h`` ``[B, K]`` and the number of iterations run.
    """
    if feats.dim() != 2 or feats.shape[1] != dictionary.shape[0]:
        raise ValueError(f'ISTA: features {tuple(feats.shape)} do not fit '
                         f'the dictionary {tuple(dictionary.shape)} '
                         '(expected [B, d] with d its rows).')
    gram = dictionary.t() @ dictionary
    target = feats @ dictionary
    codes = feats.new_zeros(feats.shape[0], dictionary.shape[1])
    iters = 0
    while iters < max_iters and feats.shape[0]:
        new = F.softshrink(codes - step * (codes @ gram - target),
                           step * lam)
        iters += 1
        delta = (new - codes).detach().norm(dim=1).max()
        codes = new
        if delta < tol:
            break
    return codes, iters
