# Copyright (c) mmamr contributors. All rights reserved.
import torch

from mmamr.registry import ATTACKS
from .losses import cw_objective
from .pgd import PGD


@ATTACKS.register_module()
class CW(PGD):
    r"""The L∞ CW attack: the margin loss of "Towards Evaluating the
    Robustness of Neural Networks" (Carlini & Wagner, S&P 2017) optimised
    by multimodal PGD, as the AMR paper evaluates it (30 steps). Ascends
    ``min(max_{j≠y} z_j − z_y, κ)`` on the logits ``z`` (targeted:
    ``min(z_t − max_{j≠t} z_j, κ)``).

    Distance Measure: Linf, per modality.

    Arguments:
        steps (int): Number of PGD steps. (Default: 30)
        kappa (float): Confidence κ >= 0: a sample misclassified by this
            margin stops moving. The default, 50, is the "CW∞" setting of
            the common adversarial-training evaluation code, in effect an
            unclipped margin. (Default: 50)
        eps, alpha, random_start, targets, targeted, model_mode,
        best_iterate, restarts, fast_path: As :class:`PGD` (targeted: push
            towards ``target_labels``).

    Inputs, labels and output: see :class:`Attack`.

    Examples::
        >>> attack = CW(eps=dict(rgb=8/255, skeleton=8/255), kappa=0.)
        >>> adv_inputs = attack(model, inputs, labels)
    """

    def __init__(self, steps: int = 30, kappa: float = 50., **kwargs) -> None:
        super().__init__(steps=steps, **kwargs)
        if not float(kappa) >= 0:
            raise ValueError(f'kappa={kappa!r} must be >= 0.')
        self.kappa = float(kappa)

    def objective(self, logits: torch.Tensor,
                  labels: torch.Tensor) -> torch.Tensor:
        """Per-sample CW margin loss ``[N]`` to ascend."""
        return cw_objective(logits, labels, self.targeted, self.kappa)
