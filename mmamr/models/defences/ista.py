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
    and ``b = Dᵀf`` precomputed, one iteration is one ``[B', K] × [K, K]``
    product over the ``B'`` rows still iterating. Each row stops on its
    own, at the first iteration whose update is small, ``‖Δh_b‖ < tol``
    (the reference's rule ``‖Δh‖ < 8e-4``, per sample), or after
    ``max_iters`` iterations; a stopped row is frozen, and no longer
    computed, while the others go on. So a sample's codes are those it
    gets alone, whatever its batch mates: a batch-wide rule (stop when the
    slowest row converges) would make a test clip's defended prediction
    depend on how the test set is batched and split between processes.
    Every iteration stays in the autograd graph, so the codes are
    differentiable w.r.t. ``feats`` (white-box attacks differentiate
    through the unrolled iterations, up to each row's stop); the stopping
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
        tuple: codes ``h`` ``[B, K]`` and the number of iterations run
        (that of the slowest row).
    """
    if feats.dim() != 2 or feats.shape[1] != dictionary.shape[0]:
        raise ValueError(f'ISTA: features {tuple(feats.shape)} do not fit '
                         f'the dictionary {tuple(dictionary.shape)} '
                         '(expected [B, d] with d its rows).')
    gram = dictionary.t() @ dictionary
    target = feats @ dictionary
    codes = feats.new_zeros(feats.shape[0], dictionary.shape[1])
    # Rows still iterating; only they are computed (out-of-place
    # index_put keeps every iteration in the graph).
    rows = torch.arange(feats.shape[0], device=feats.device)
    iters = 0
    while iters < max_iters and rows.numel():
        h = codes[rows]
        new = F.softshrink(h - step * (h @ gram - target[rows]), step * lam)
        iters += 1
        codes = codes.index_put((rows, ), new)
        rows = rows[(new - h).detach().norm(dim=1) >= tol]
    return codes, iters
