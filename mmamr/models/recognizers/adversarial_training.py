# Copyright (c) mmamr contributors. All rights reserved.
"""The training objectives: standard, Madry AT and AMR (Eq. 11-12)."""
from typing import Dict, Mapping, Optional, Union

import numpy as np
import torch
from mmaction.utils import SampleList
from mmengine.dist import get_rank
from mmengine.logging import MessageHub

from mmamr.common import gt_labels
from mmamr.registry import ATTACKS

MODES = ('standard', 'madry', 'amr')
# The keys of a recognizer's train_cfg: the arguments of the objective.
TRAIN_CFG_KEYS = ('mode', 'attack', 'lam')


class AdversarialTraining:
    """What :meth:`RGBSkeletonRecognizer.loss` computes for a batch.

    The recognizer builds it from its own ``train_cfg`` (see
    :func:`training_objective`), e.g. the paper's AMR training::

        model = dict(
            type='RGBSkeletonRecognizer', ...,
            train_cfg=dict(
                mode='amr', lam=1.,
                attack=dict(type='PGD', eps=dict(rgb=8/255, skeleton=8/255),
                            alpha=dict(rgb=2/255, skeleton=2/255),
                            steps=10, random_start=True, targets='both')))

    With ``L_AMR(x) = CE(f(x), y) + (1/S) Σ_i CE(y*_i(x), y)`` (Eq. 11; the
    sum over the ``S`` AMRs' auxiliary predictions vanishes when ``S = 0``)
    and ``x'`` the adversarial batch made by ``attack``:

    - ``'standard'``: ``L_AMR(x)``; logged ``loss_cls`` (and ``loss_aux``
      with AMRs: deep supervision on clean inputs, the paper's "standard
      training" of AMR). No attack. The paper's "None".
    - ``'madry'``: ``L_AMR(x')``, adversarial examples only (Madry et al.;
      the paper's baselines "AT with ✗R / ✗S / ✗RS" by the attack's
      ``targets``); logged ``loss_adv`` (and ``loss_aux``).
    - ``'amr'``: Eq. 12, ``CE(f(x), y) + λ L_AMR(x')``; logged
      ``loss_clean``, ``loss_adv = λ CE(f(x'), y)`` and
      ``loss_aux = λ (1/S) Σ_i CE(y*_i(x'), y)``. mmengine sums every
      logged key containing "loss", so the total is exactly Eq. 12. The
      clean pass contributes only its final prediction (DESIGN.md D3).

    With the recognizer's ``minsim`` (Tian & Xu's MinSim), every pass
    also logs ``weight * MinSim(features)``, the weight of its CE term:
    ``loss_minsim`` for the clean pass of ``'standard'`` and ``'amr'``,
    ``adv_loss_minsim`` for the adversarial pass of ``'madry'`` and
    ``'amr'``.

    Accuracies are logged as ``top1_acc`` etc. (clean pass) and
    ``adv_top1_acc`` etc. (adversarial pass). CE is the ``cls_head``'s own
    loss (label smoothing, class weights as configured), also for the
    auxiliary predictions.

    Where the attack runs, and why: inside ``loss``, i.e. inside the
    forward in ``'loss'`` mode that ``MMDistributedDataParallel.train_step``
    calls in every process (it never calls an overridden
    ``model.train_step``, DESIGN.md §3). The attack works on the bare
    recognizer, puts it in eval mode (its ``model_mode``; BatchNorm frozen,
    no dropout, D6) and differentiates with ``torch.autograd.grad`` w.r.t.
    the inputs only: no parameter gradient is accumulated, so no DDP
    gradient hook fires and nothing is synchronised before the real
    backward. The training forwards then run in train mode.

    The model, not the training loop, holds its objective, so it trains
    the same under any loop (``EpochBasedTrainLoop``,
    ``IterBasedTrainLoop``, a user's script calling ``train_step``).

    BatchNorm: the clean and the adversarial batch are two forwards, not
    one concatenated batch, as in the reference implementations of TRADES
    and MART: each is normalised with its own batch statistics, so the
    clean prediction of Eq. 12 is the one a clean batch gets, and the
    running statistics (used by attacks and at test time) take one update
    from each, i.e. a mix of clean and adversarial statistics.

    Random starts are reproducible: inside a Runner, the attack's
    generator is seeded from the run's seed, the iteration and the rank
    (MessageHub ``seed`` and ``iter``), so a resumed run draws the same
    starts as an uninterrupted one, and the global RNG stream (dropout,
    augmentation) is untouched. Outside a Runner the global RNG is used.

    Args:
        mode (str): ``'standard'``, ``'madry'`` or ``'amr'``. Defaults to
            ``'amr'``.
        attack (dict or Attack, optional): The attack making ``x'``,
            e.g. the paper's ``dict(type='PGD', eps=dict(rgb=8/255,
            skeleton=8/255), alpha=dict(rgb=2/255, skeleton=2/255),
            steps=10, random_start=True, targets='both')``. Required by
            ``'madry'`` and ``'amr'``, refused by ``'standard'``.
        lam (float): λ of Eq. 12 (``'amr'`` only). Defaults to 1.
    """

    def __init__(self,
                 mode: str = 'amr',
                 attack: Optional[Union[Dict, object]] = None,
                 lam: float = 1.0) -> None:
        if mode not in MODES:
            raise ValueError(f'Adversarial training mode={mode!r}; choose '
                             f'one of {MODES}.')
        if mode == 'standard' and attack is not None:
            raise ValueError("mode='standard' trains on clean inputs only; "
                             'remove the attack or choose madry or amr.')
        if mode != 'standard' and attack is None:
            raise ValueError(f'mode={mode!r} needs an attack, e.g. '
                             "dict(type='PGD', steps=10, targets='both').")
        if mode != 'amr' and lam != 1.0:
            raise ValueError(f'lam={lam} weights the adversarial terms of '
                             f"mode='amr' only; mode={mode!r}.")
        if isinstance(lam,
                      bool) or not isinstance(lam,
                                              (int, float)) or not lam >= 0:
            raise ValueError(f'lam={lam!r} must be a number >= 0.')
        self.mode = mode
        if isinstance(attack, dict):
            # ATTACKS is mmamr's own root registry: name its scope, or
            # mmengine looks for it under the configs' default scope
            # ('mmaction') first and warns.
            attack = ATTACKS.build(dict(attack, _scope_=ATTACKS.scope))
        self.attack = attack
        self.lam = float(lam)

    def check_model(self, model) -> None:
        """Raise if the attack targets a modality the model lacks."""
        targets = getattr(self.attack, 'modalities', ())
        missing = [m for m in targets if m not in model.modalities]
        if missing:
            raise ValueError(
                f'The training attack targets {missing}, but the model has '
                f'only the {list(model.modalities)} branches.')

    def loss(self, model, inputs: Dict[str, torch.Tensor],
             data_samples: SampleList) -> Dict[str, torch.Tensor]:
        """Losses (and accuracies) of one batch; see the class docstring.

        Args:
            model (RGBSkeletonRecognizer): The bare model (not a wrapper).
            inputs (dict): Preprocessed inputs, one view per sample.
            data_samples (list[ActionDataSample]): With ``gt_label``.

        Returns:
            dict: The logged terms; those named ``loss*`` add up to the
            objective.
        """
        if self.mode == 'standard':
            return self.pass_losses(model, inputs, data_samples, 'loss_cls')
        labels = gt_labels(data_samples, next(iter(inputs.values())).device)
        generator = attack_generator(labels.device)
        adv = self.attack(model, inputs, labels, generator=generator)
        if self.mode == 'madry':
            return self.pass_losses(
                model, adv, data_samples, 'loss_adv', prefix='adv_')
        losses = self.pass_losses(
            model, inputs, data_samples, 'loss_clean', with_aux=False)
        losses.update(
            self.pass_losses(
                model,
                adv,
                data_samples,
                'loss_adv',
                weight=self.lam,
                prefix='adv_'))
        return losses

    @staticmethod
    def pass_losses(model,
                    inputs: Dict[str, torch.Tensor],
                    data_samples: SampleList,
                    name: str,
                    weight: float = 1.0,
                    with_aux: bool = True,
                    prefix: str = '') -> Dict[str, torch.Tensor]:
        """``weight * CE`` of one forward as ``name``, its accuracies with
        ``prefix``, ``weight * (1/S) Σ_i CE(y*_i)`` as ``loss_aux`` and
        ``weight * MinSim`` as ``prefix + 'loss_minsim'``."""
        feats, _, views, aux = model.branch_features(inputs, return_aux=True)
        if views != 1:
            raise ValueError(f'Training expects one view per sample, got '
                             f'{views}; use num_clips=1 in train pipelines.')
        head = model.cls_head
        out = dict()
        for key, value in head.loss(model.fuse(feats), data_samples).items():
            if key == 'loss_cls':
                out[name] = weight * value
            else:
                out[prefix + key] = value
        if with_aux and aux:
            terms = [
                head.loss_by_feat(logits, data_samples)['loss_cls']
                for logits in aux.values()
            ]
            out['loss_aux'] = weight * torch.stack(terms).mean()
        minsim = getattr(model, 'minsim', None)
        if minsim is not None:
            out[prefix + 'loss_minsim'] = weight * minsim(feats)
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mode={self.mode!r}, '
                f'attack={self.attack!r}, lam={self.lam})')


STANDARD_TRAINING = AdversarialTraining('standard')


def training_objective(
        train_cfg: Optional[Mapping]) -> Optional[AdversarialTraining]:
    """The objective a recognizer's ``train_cfg`` configures.

    Args:
        train_cfg (dict, optional): ``mode``, ``attack`` and ``lam``, the
            arguments of :class:`AdversarialTraining` (``mode`` defaults
            to ``'amr'``), e.g. ``dict(mode='madry', attack=dict(
            type='PGD', steps=10, targets='rgb'))``. None or empty:
            standard training.

    Returns:
        AdversarialTraining, optional: None for standard training.
    """
    if not train_cfg:
        return None
    if not isinstance(train_cfg, Mapping):
        raise TypeError('model.train_cfg must be a dict of the training '
                        f'objective; got {type(train_cfg).__name__}.')
    unknown = sorted(set(train_cfg) - set(TRAIN_CFG_KEYS))
    if unknown:
        raise ValueError(
            f'model.train_cfg has unknown keys {unknown}; it sets the '
            f'training objective with {list(TRAIN_CFG_KEYS)}, e.g. '
            "dict(mode='amr', lam=1., attack=dict(type='PGD', steps=10)). "
            'The schedule (max_epochs, ...) goes in the top-level '
            'train_cfg.')
    return AdversarialTraining(**train_cfg)


def attack_generator(device: torch.device) -> Optional[torch.Generator]:
    """A generator seeded by (run seed, iteration, rank), in a Runner.

    Returns None (the attack then uses the global RNG) when the
    MessageHub has no ``seed`` or ``iter``, i.e. outside a Runner.
    """
    hub = MessageHub.get_current_instance()
    seed, iteration = hub.get_info('seed'), hub.get_info('iter')
    if seed is None or iteration is None:
        return None
    entropy = [abs(int(seed)), int(iteration), get_rank()]
    generator = torch.Generator(device=device)
    generator.manual_seed(
        int(np.random.SeedSequence(entropy).generate_state(1)[0]))
    return generator
