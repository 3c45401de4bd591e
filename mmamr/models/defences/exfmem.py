# Copyright (c) mmamr contributors. All rights reserved.
"""ExFMem, the external feature memory of Tian & Xu (CVPR 2021)."""
from typing import Dict, Mapping, Optional, Sequence

import torch
from mmaction.registry import MODELS
from torch import nn

from .ista import ista, lipschitz_constant

BUILD_HINT = ('build them from the trained checkpoint with '
              'tools/build_exfmem.py CONFIG CHECKPOINT --out NEW_CHECKPOINT '
              'and test NEW_CHECKPOINT')


@MODELS.register_module()
class ExFMem(nn.Module):
    """Denoise branch features with fixed dictionaries of training features.

    After training, a dictionary ``D_m`` ``[D_m, K]`` per modality holds
    ``K`` training-set features of that branch as columns
    (:meth:`set_dictionaries`, called by ``tools/build_exfmem.py``). A
    feature ``f`` is then sparse-coded over ``D_m`` by ISTA (λ = 0.1, see
    :func:`ista`) and replaced by ``f̂ = a · D_m h + (1 − a) · f``
    (``a = 0.5``): a blend of the input with its reconstruction from
    clean training features. The dictionaries are buffers, saved in the
    checkpoint.

    It sits between the branch features and the fusion
    (``RGBSkeletonRecognizer(feature_defence=dict(type='ExFMem'))``) and
    maps ``dict(rgb=[B, D_R], skeleton=[B, D_S])`` to the same; each
    modality is processed alone, so a dict with one modality works too.
    Attacks differentiate through the unrolled ISTA (white-box).

    Before the dictionaries exist it is the identity in training mode
    (the memory is made from the trained model) and raises in eval mode,
    so that an evaluation never silently runs without the defence.

    Args:
        feat_dims (dict): Width of each branch's feature, e.g.
            ``dict(rgb=1024, skeleton=256)``; given by the recognizer.
        num_atoms (int): ``K``, the atoms per dictionary. Defaults to 1024
            (the reference keeps 1024 stored features).
        lam (float): λ of the lasso. Defaults to 0.1.
        blend (float): ``a``. Defaults to 0.5; 0 is the identity.
        step (float, optional): ISTA's step ``α``. Defaults to
            ``1 / λ_max(D_mᵀD_m)`` per modality, the largest step with
            guaranteed convergence; a given step must satisfy
            ``α · λ_max(D_mᵀD_m) <= 1`` (checked, as the reference does).
        tol (float): Each sample's ISTA stops on its own at the first
            iteration with ``‖Δh_b‖ < tol`` (the reference's rule, applied
            per sample so that a prediction does not depend on its batch;
            see :func:`ista`). Defaults to 8e-4 (the reference's).
        max_iters (int): ISTA's iteration cap. Defaults to 2000.
        modalities (sequence[str], optional): The defended branches.
            Defaults to every branch of ``feat_dims``.

    Example:
        >>> mem = ExFMem(dict(rgb=8, skeleton=4), num_atoms=16)
        >>> mem.set_dictionaries(dict(rgb=torch.randn(8, 16),
        ...                           skeleton=torch.randn(4, 16)))
        >>> out = mem.eval()(dict(rgb=torch.randn(2, 8),
        ...                       skeleton=torch.randn(2, 4)))
        >>> out['rgb'].shape
        torch.Size([2, 8])
    """

    def __init__(self,
                 feat_dims: Mapping[str, int],
                 num_atoms: int = 1024,
                 lam: float = 0.1,
                 blend: float = 0.5,
                 step: Optional[float] = None,
                 tol: float = 8e-4,
                 max_iters: int = 2000,
                 modalities: Optional[Sequence[str]] = None) -> None:
        super().__init__()
        modalities = list(feat_dims if modalities is None else modalities)
        unknown = sorted(set(modalities) - set(feat_dims))
        if unknown or not modalities:
            raise ValueError(f'ExFMem.modalities={modalities}: choose among '
                             f'the branches {sorted(feat_dims)}.')
        if isinstance(num_atoms, bool) or not isinstance(
                num_atoms, int) or num_atoms < 1:
            raise ValueError(f'ExFMem.num_atoms={num_atoms!r} must be an '
                             'int >= 1.')
        if not 0 <= blend <= 1:
            raise ValueError(f'ExFMem.blend={blend!r} must be in [0, 1].')
        if not lam >= 0:
            raise ValueError(f'ExFMem.lam={lam!r} must be >= 0.')
        if step is not None and not step > 0:
            raise ValueError(f'ExFMem.step={step!r} must be > 0 (or None: '
                             '1 / λ_max(DᵀD)).')
        self.modalities = tuple(modalities)
        self.feat_dims = {m: int(feat_dims[m]) for m in self.modalities}
        self.num_atoms = num_atoms
        self.lam = float(lam)
        self.blend = float(blend)
        self.step = step
        self.tol = float(tol)
        self.max_iters = int(max_iters)
        for m in self.modalities:
            self.register_buffer(f'atoms_{m}',
                                 torch.zeros(self.feat_dims[m], num_atoms))
            self.register_buffer(f'lipschitz_{m}', torch.zeros(()))
        self.register_buffer('built', torch.zeros((), dtype=torch.bool))
        # Iterations of the last ISTA run per modality (diagnostics).
        self.last_iters: Dict[str, int] = dict()

    def dictionary(self, modality: str) -> torch.Tensor:
        """``D_m`` ``[D_m, K]``."""
        return getattr(self, f'atoms_{modality}')

    @torch.no_grad()
    def set_dictionaries(self, atoms: Mapping[str, torch.Tensor]) -> None:
        """Store the dictionaries and their Lipschitz constants.

        Args:
            atoms (dict): Per defended modality, ``[D_m, K]`` (training
                features as columns).
        """
        missing = [m for m in self.modalities if m not in atoms]
        if missing:
            raise KeyError(f'ExFMem.set_dictionaries: no atoms for '
                           f'{missing}.')
        for m in self.modalities:
            expected = (self.feat_dims[m], self.num_atoms)
            if tuple(atoms[m].shape) != expected:
                raise ValueError(
                    f'ExFMem: the {m} dictionary has shape '
                    f'{tuple(atoms[m].shape)}; expected {expected} '
                    '(feature width, num_atoms).')
            lipschitz = lipschitz_constant(atoms[m].float())
            if not lipschitz > 0:
                raise ValueError(f'ExFMem: the {m} dictionary is all '
                                 'zeros.')
            self.dictionary(m).copy_(atoms[m])
            getattr(self, f'lipschitz_{m}').fill_(float(lipschitz))
        self.built.fill_(True)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Take the checkpoint's atom count, which may differ from the
        config's ``num_atoms`` (``tools/build_exfmem.py --num-atoms``):
        the stored memory defines the defence. A different feature width
        is an error (the checkpoint belongs to another model)."""
        sizes = set()
        for m in self.modalities:
            stored = state_dict.get(f'{prefix}atoms_{m}')
            if stored is None:
                continue
            if stored.dim() != 2 or stored.shape[0] != self.feat_dims[m]:
                raise ValueError(
                    f'ExFMem: the checkpoint\'s {m} dictionary '
                    f'{prefix}atoms_{m} has shape {tuple(stored.shape)}; '
                    f'this model\'s {m} features are {self.feat_dims[m]} '
                    'wide.')
            sizes.add(stored.shape[1])
        if len(sizes) > 1:
            raise ValueError('ExFMem: the checkpoint\'s dictionaries have '
                             f'different atom counts {sorted(sizes)}.')
        if sizes and sizes != {self.num_atoms}:
            self.num_atoms = sizes.pop()
            for m in self.modalities:
                old = self.dictionary(m)
                setattr(self, f'atoms_{m}',
                        old.new_zeros(self.feat_dims[m], self.num_atoms))
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def step_size(self, modality: str) -> float:
        """ISTA's step for ``modality``, checked against ``λ_max``."""
        lipschitz = float(getattr(self, f'lipschitz_{modality}'))
        if self.step is None:
            return 1.0 / lipschitz
        # A relative slack of 1e-6 for the float32 rounding of λ_max.
        if self.step * lipschitz > 1 + 1e-6:
            raise ValueError(
                f'ExFMem.step={self.step} is too big for ISTA to converge '
                f'on the {modality} dictionary: step · λ_max(DᵀD) = '
                f'{self.step * lipschitz:.4g} > 1; use step <= '
                f'{1 / lipschitz:.4g} or None.')
        return self.step

    def forward(self, feats: Dict[str, torch.Tensor]
                ) -> Dict[str, torch.Tensor]:
        """Blend each defended feature with its sparse reconstruction.

        Args:
            feats (dict): Modality -> ``[B, D_m]``.

        Returns:
            dict: The same keys; defended modalities replaced by
            ``a · D_m h + (1 − a) · f`` ``[B, D_m]``.
        """
        if not bool(self.built):
            if self.training:
                return dict(feats)
            raise RuntimeError(
                'ExFMem has no feature dictionaries yet (this checkpoint '
                f'was saved without them): {BUILD_HINT}.')
        out = dict(feats)
        for m in self.modalities:
            if m not in feats:
                continue
            f = feats[m]
            if f.dim() != 2 or f.shape[1] != self.feat_dims[m]:
                raise ValueError(f'ExFMem: {m} features have shape '
                                 f'{tuple(f.shape)}; expected [B, '
                                 f'{self.feat_dims[m]}].')
            dictionary = self.dictionary(m).to(f.dtype)
            codes, self.last_iters[m] = ista(
                dictionary,
                f,
                lam=self.lam,
                step=self.step_size(m),
                tol=self.tol,
                max_iters=self.max_iters)
            out[m] = self.blend * (codes @ dictionary.t()) + (
                1 - self.blend) * f
        return out

    def extra_repr(self) -> str:
        return (f'feat_dims={self.feat_dims}, num_atoms={self.num_atoms}, '
                f'lam={self.lam}, blend={self.blend}, step={self.step}, '
                f'tol={self.tol}, max_iters={self.max_iters}, '
                f'built={bool(self.built)}')
