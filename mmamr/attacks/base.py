# Copyright (c) mmamr contributors. All rights reserved.
"""Base class of the multimodal L∞ attacks."""
from contextlib import ExitStack, contextmanager, nullcontext
from typing import Callable, Dict, Iterator, Mapping, Optional, Sequence, Union

import torch
from torch import nn

from mmamr.common import MODALITIES, target_modalities, unwrap_model
from .attacked_forward import AttackedForward
from .budget import check_budget, check_inside
from .padding import padding_as_input

Inputs = Dict[str, torch.Tensor]
# One generator for the whole batch, or one per sample (see uniform_like).
Generators = Union[torch.Generator, Sequence[torch.Generator]]
DEFAULT_EPS = 8 / 255
MODEL_MODES = ('eval', 'train')
# Input dtypes an attack computes in float32 instead (DESIGN.md D8).
HALF_DTYPES = (torch.float16, torch.bfloat16)


@contextmanager
def model_mode(model: Callable, mode: str) -> Iterator[None]:
    """Put an ``nn.Module`` in ``mode`` and restore every submodule's own
    flag afterwards (exactly, even where submodules differed, e.g. frozen
    BatchNorm). Plain callables are left alone."""
    if not isinstance(model, nn.Module):
        yield
        return
    flags = [(module, module.training) for module in model.modules()]
    model.train(mode == 'train')
    try:
        yield
    finally:
        for module, flag in flags:
            module.training = flag


@contextmanager
def full_precision(inputs: Mapping[str, torch.Tensor]) -> Iterator[None]:
    """Run without autocast, whatever the caller's precision (DESIGN.md D8).

    Under ``--amp`` mmengine runs the whole training loss, and with it the
    training attack, inside ``torch.autocast``: the attack's forward and
    input gradients would then be fp16 (with no loss scaling, tiny
    gradients underflow to zero and take no sign step) or bf16 (8-bit
    mantissa: it flipped 13% of FGSM's RGB steps on a tiny I3D + HCN,
    ``tests/test_attacks/test_mixed_precision.py``). Autocast is turned off
    for the CPU, CUDA and every device of ``inputs``; the model then runs
    in its parameters' precision (float32 under mmengine's AMP).
    """
    available = getattr(torch.amp, 'is_autocast_available',
                        lambda device_type: device_type in ('cpu', 'cuda'))
    device_types = {'cpu', 'cuda'} | {x.device.type for x in inputs.values()}
    with ExitStack() as stack:
        for device_type in sorted(device_types):
            if available(device_type):
                stack.enter_context(
                    torch.autocast(device_type=device_type, enabled=False))
        yield


def in_float32(inputs: Mapping[str, torch.Tensor]) -> Inputs:
    """``inputs`` with its half-precision tensors cast to float32."""
    return {
        k: v.float() if v.dtype in HALF_DTYPES else v
        for k, v in inputs.items()
    }


def uniform_like(x: torch.Tensor,
                 generator: Optional[Generators]) -> torch.Tensor:
    """Uniform noise in [0, 1) shaped like ``x``, with its dtype and device.

    Args:
        x (torch.Tensor): ``[N, ...]``.
        generator (torch.Generator or sequence, optional): None draws from
            the global RNG of ``x``'s device; one generator draws the
            whole batch; a sequence of ``N`` generators draws sample
            ``i``'s noise ``[1, ...]`` from generator ``i``, so that a
            sample's draw does not depend on the batch it is in. Noise is
            drawn on the generator's device and moved to ``x``'s.

    Returns:
        torch.Tensor: Like ``x``.
    """
    if generator is None or isinstance(generator, torch.Generator):
        device = x.device if generator is None else generator.device
        noise = torch.rand(
            x.shape, generator=generator, dtype=x.dtype, device=device)
        return noise.to(x.device)
    return torch.cat([
        torch.rand((1, *x.shape[1:]),
                   generator=g,
                   dtype=x.dtype,
                   device=g.device).to(x.device) for g in generator
    ])


class Attack:
    """Base class of mmamr's attacks on RGB-skeleton models.

    An attack maps a model and a batch of clean inputs to adversarial
    inputs: ``adv = attack(model, inputs, labels)``. It perturbs the
    modalities named by ``targets`` within their own L∞ budget ``eps``
    (✗R, ✗S, ✗RS of the paper) and returns every other modality
    unchanged. Subclasses implement :meth:`perturb`; this class checks
    the arguments, puts the model in ``model_mode`` (restoring it after),
    enables grad (attacks work inside ``torch.no_grad()``, e.g. in
    mmengine's test loop), turns autocast off and computes in float32
    (attacks are as strong under ``--amp`` as without: DESIGN.md D8,
    :func:`full_precision`), picks the fast or full forward
    (:class:`AttackedForward`) and verifies the result lies in the budget
    and leaves the skeleton's padding (absent bodies and frames) exactly
    as it was (DESIGN.md D7; :mod:`mmamr.attacks.padding`).

    The model's parameters get no gradients: subclasses differentiate with
    ``torch.autograd.grad`` with respect to the inputs only.

    Random starts come from the call's ``generator``: one
    ``torch.Generator`` for the batch, or one per sample, so that each
    sample's start is the same in any batch (the robust test loop seeds
    one per sample from the sample's identity).

    Args:
        eps (dict, optional): L∞ budget per modality, in the units of
            DESIGN.md D5 (RGB in [0, 1]; skeleton in ``NormalizeSkeleton``
            units). Must cover the attacked modalities. Defaults to
            ``dict(rgb=8/255, skeleton=8/255)``.
        targets (str): Modalities to attack: ``'rgb'``, ``'skeleton'`` or
            ``'both'``. Defaults to ``'both'``.
        targeted (bool): Push predictions towards ``target_labels``
            instead of away from ``labels``. Defaults to False.
        model_mode (str): Mode of the model while the attack runs,
            ``'eval'`` (DESIGN.md D6) or ``'train'``. In ``'train'`` mode
            BatchNorm layers update their running statistics at every
            forward of the attack, as in Madry et al.'s code, and dropout
            draws a fresh mask per step. Defaults to ``'eval'``.
        fast_path (bool): For a single-modality attack on a model whose
            branches do not interact before fusion, compute the other
            branch's features once. Defaults to True.
        perturb_padding (bool): Let the attack write into the skeleton's
            padding too (:func:`~mmamr.attacks.padding.padding_as_input`),
            the threat model before D7, to measure what D7 changes; never
            for reported numbers. Defaults to False.

    Shape:
        - inputs: ``dict(rgb=[N, (V,) 3, T, H, W], skeleton=[N, (V,) M, T,
          J, C])``; RGB in [0, 1], skeleton in ``NormalizeSkeleton`` units
          (not clamped).
        - labels: ``[N]``; target_labels: ``[N]`` (targeted mode).
        - output: a dict like ``inputs``.
    """

    def __init__(self,
                 eps: Optional[Mapping[str, float]] = None,
                 targets: str = 'both',
                 targeted: bool = False,
                 model_mode: str = 'eval',
                 fast_path: bool = True,
                 perturb_padding: bool = False) -> None:
        self.targets = targets
        self.modalities = target_modalities(targets)
        if eps is None:
            eps = dict.fromkeys(MODALITIES, DEFAULT_EPS)
        self.eps = check_budget('eps', eps, self.modalities)
        if model_mode not in MODEL_MODES:
            raise ValueError(f'model_mode={model_mode!r}; choose one of '
                             f'{MODEL_MODES}.')
        self.targeted = bool(targeted)
        self.model_mode = model_mode
        self.fast_path = fast_path
        if not isinstance(perturb_padding, bool):
            raise TypeError(f'perturb_padding={perturb_padding!r} must be a '
                            'bool.')
        self.perturb_padding = perturb_padding

    def perturb(self, forward: AttackedForward, clean: Inputs,
                labels: torch.Tensor,
                generator: Optional[Generators]) -> Inputs:
        """Compute the adversarial attacked modalities.

        Args:
            forward (AttackedForward): ``dict(attacked modality -> input)
                -> logits [N, K]``.
            clean (dict): The clean attacked modalities (detached).
            labels (torch.Tensor): ``[N]``, the true labels, or the target
                labels when :attr:`targeted`.
            generator (torch.Generator or sequence, optional): For random
                starts: one for the batch or one per sample (draw with
                :func:`uniform_like`).

        Returns:
            dict: The adversarial attacked modalities.
        """
        raise NotImplementedError

    def __call__(self,
                 model: Callable,
                 inputs: Inputs,
                 labels: torch.Tensor,
                 target_labels: Optional[torch.Tensor] = None,
                 generator: Optional[Generators] = None) -> Inputs:
        """Attack a batch.

        Args:
            model (callable): An :class:`RGBSkeletonRecognizer` or any
                callable (``nn.Module`` or not) mapping an inputs dict to
                logits ``[N, K]``. (Distributed)DataParallel wrappers are
                unwrapped (the attack needs no parameter gradients).
            inputs (dict): Preprocessed inputs, e.g. ``rgb``
                ``[N, (V,) 3, T, H, W]`` in [0, 1] and ``skeleton``
                ``[N, (V,) M, T, J, C]``. Not modified.
            labels (torch.Tensor): True labels, LongTensor ``[N]``.
            target_labels (torch.Tensor, optional): ``[N]``; required
                when :attr:`targeted`, refused otherwise.
            generator (torch.Generator or sequence, optional): Random
                numbers of the random start, for reproducible attacks: one
                generator for the batch, or a sequence of ``N``, sample
                ``i``'s start drawn from generator ``i`` (then a sample's
                start does not depend on its batch: attacking it alone
                with its generator gives the same start). None: the
                global RNG.

        Returns:
            dict: A new dict with the keys of ``inputs``, detached; the
            attacked modalities perturbed (float32 where they were given
            in half precision), the others the original tensors.
        """
        model = unwrap_model(model)
        clean = in_float32(
            self._check_call(model, inputs, labels, target_labels))
        check_generators(generator, labels.shape[0], type(self).__name__)
        goal = target_labels if self.targeted else labels
        threat = padding_as_input() if self.perturb_padding else nullcontext()
        with threat:
            with torch.enable_grad(), model_mode(model, self.model_mode), \
                    full_precision(inputs):
                forward = AttackedForward(model, in_float32(inputs),
                                          self.modalities, labels.shape[0],
                                          self.fast_path)
                adv = self.perturb(forward, clean, goal, generator)
            adv = {m: adv[m].detach() for m in self.modalities}
            check_inside(adv, clean, self.eps)
        out = {k: v.detach() for k, v in inputs.items()}
        out.update(adv)
        return out

    def _check_call(self, model: Callable, inputs: Inputs,
                    labels: torch.Tensor,
                    target_labels: Optional[torch.Tensor]) -> Inputs:
        """Validate a call; return the clean attacked modalities."""
        name = type(self).__name__
        model_modalities = getattr(model, 'modalities', None)
        if model_modalities is not None:
            lacking = [m for m in self.modalities if m not in model_modalities]
            if lacking:
                raise ValueError(
                    f'{name} attacks {lacking} (targets={self.targets!r}), '
                    f'but the model has only {list(model_modalities)} '
                    'branches; attack those instead.')
        if not isinstance(inputs, Mapping):
            raise TypeError(f'{name} expects an inputs dict, got '
                            f'{type(inputs).__name__}.')
        lacking = [m for m in self.modalities if m not in inputs]
        if lacking:
            raise ValueError(f'{name} attacks {lacking} (targets='
                             f'{self.targets!r}), but the inputs hold only '
                             f'{sorted(inputs)}.')
        if (not torch.is_tensor(labels) or labels.dim() != 1
                or labels.dtype != torch.long):
            raise ValueError(f'{name} expects labels as a LongTensor [N]; '
                             f'got {getattr(labels, "shape", labels)}.')
        num = labels.shape[0]
        if self.targeted and target_labels is None:
            raise ValueError(f'A targeted {name} needs target_labels.')
        if not self.targeted and target_labels is not None:
            raise ValueError(f'target_labels given to an untargeted {name}; '
                             'build it with targeted=True.')
        if target_labels is not None and (
                not torch.is_tensor(target_labels)
                or tuple(target_labels.shape) != (num, )
                or target_labels.dtype != torch.long):
            raise ValueError(f'target_labels must be a LongTensor [N={num}].')
        clean = dict()
        for modality in self.modalities:
            x = inputs[modality]
            if not torch.is_tensor(x) or not x.is_floating_point():
                raise TypeError(f'inputs[{modality!r}] must be a float '
                                'tensor.')
            if x.dim() < 1 or x.shape[0] != num:
                raise ValueError(f'inputs[{modality!r}] has shape '
                                 f'{tuple(x.shape)}; expected N={num} '
                                 'samples, as in labels.')
            clean[modality] = x.detach()
        rgb = clean.get('rgb')
        if rgb is not None and rgb.numel() and (rgb.min() < 0
                                                or rgb.max() > 1):
            raise ValueError(
                f'inputs["rgb"] spans [{float(rgb.min())}, '
                f'{float(rgb.max())}]; attacks expect RGB in [0, 1] '
                '(after the data preprocessor, before mean/std '
                'normalisation: DESIGN.md D5).')
        return clean

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                         if k != 'modalities')
        return f'{type(self).__name__}({args})'


def check_generators(generator: object, num: int, name: str) -> None:
    """Raise unless ``generator`` is None, a ``torch.Generator`` or a
    sequence of ``num`` of them."""
    if generator is None or isinstance(generator, torch.Generator):
        return
    if (isinstance(generator,
                   (str, bytes)) or not isinstance(generator, Sequence)
            or not all(isinstance(g, torch.Generator) for g in generator)):
        raise TypeError(f'{name}: generator must be a torch.Generator or a '
                        'sequence of them (one per sample); got '
                        f'{type(generator).__name__}.')
    if len(generator) != num:
        raise ValueError(f'{name}: {len(generator)} generators for a batch '
                         f'of {num} samples.')
