# Copyright (c) mmamr contributors. All rights reserved.
import copy
import inspect
import logging
import math
import os.path as osp
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmaction.registry import LOOPS
from mmengine.dist import all_gather_object, is_main_process
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmengine.runner import TestLoop
from torch.utils.data import DataLoader

from mmamr.attacks import Attack
from mmamr.attacks.padding import PADDED_MODALITIES, keep_padding, padding_mask
from mmamr.common import TARGETS, gt_labels, unwrap_model, write_text_atomic
from mmamr.registry import ATTACKS
from ..evaluation.robustness import (RELIANCE, RELIANCE_HEADERS,
                                     config_differences, dump_results,
                                     load_results, markdown_report,
                                     markdown_table)
from ..evaluation.robustness_metric import WORST_CASE, RobustnessMetric
from .sample_seeding import sample_generators, sample_key


@LOOPS.register_module()
class RobustTestLoop(TestLoop):
    """Test loop that measures clean and adversarial accuracy in one pass.

    For every batch it predicts the clean inputs, then runs every
    configured attack against every target (✗R: ``'rgb'``, ✗S:
    ``'skeleton'``, ✗RS: ``'both'``) and predicts the adversarial inputs,
    recorded in each prediction as ``adv_pred_scores['<attack>/<target>']``;
    the :class:`RobustnessMetric` of the test evaluator turns the
    predictions into accuracies, Avg and RI. The loop then describes the
    run in the metric's result (row name, seed, the model's modalities,
    each attack's config) and, in the main process, logs its tables and
    writes ``robustness.json`` (schema in
    :mod:`mmamr.evaluation.robustness`) and ``robustness.md`` (the
    paper's table layout) to ``out_dir``. The attacks act on the
    unwrapped model (``model.module`` under DDP) in eval mode, on the
    preprocessed inputs (RGB in [0, 1], skeleton in ``NormalizeSkeleton``
    units: DESIGN.md D5), with gradients enabled although mmengine tests
    under ``no_grad``; the data batch is never modified.

    Random starts are seeded per sample: every attack gets one generator
    per sample of the batch (see :mod:`mmamr.engine.sample_seeding`), so
    results do not depend on the batch size, the number of processes or
    the order of the data; the restarts of an attack (``restarts=N``)
    continue each sample's stream. The skeleton's padding (absent
    bodies and frames, exactly zero after ``NormalizeSkeleton``) is
    never perturbed: the attacks read it from the clean inputs
    (:mod:`mmamr.attacks.padding`), so nothing beside the batch is
    passed.

    The modality-reliance diagnostic (``reliance=True``, models with both
    modalities) tells a robust modality from an ignored one. A pre-pass
    over the test set (the data preprocessor only, no model) computes
    each input's dataset mean per channel, in the units the attacks see:
    for RGB per colour channel over every clip, frame and pixel, for the
    skeleton per coordinate over the joints of the body-frames that are
    not padding. Every process adds up its samples, each counted once
    (the sampler's padding is dropped), and the sums are gathered from
    all processes, so ``dist_test.sh`` uses the means of one process.
    Every batch is then also predicted with the RGB replaced by its mean
    (the skeleton clean), recorded as ``ablated_pred_scores['rgb']``
    (−R), and with the skeleton replaced (the RGB clean; the padding
    stays exactly zero), as ``ablated_pred_scores['skeleton']`` (−S). A
    model that ignores RGB has −R = ✓RS, so ✗R = ✓RS there means an
    ignored modality, not a robust one.

    Config::

        test_cfg = dict(
            type='RobustTestLoop',
            attacks=[
                dict(type='FGSM', eps=dict(rgb=8/255, skeleton=8/255)),
                dict(type='PGD', steps=20,
                     eps=dict(rgb=8/255, skeleton=8/255),
                     alpha=dict(rgb=2/255, skeleton=2/255)),
                # Stronger: per sample the worst of 5 restarts and of
                # every iterate (named PGD20x5-best).
                dict(type='PGD', steps=20, restarts=5, best_iterate=True),
                dict(type='CW', name='CW', steps=30, kappa=50.,
                     eps=dict(rgb=8/255, skeleton=8/255),
                     alpha=dict(rgb=2/255, skeleton=2/255)),
            ],
            targets=['rgb', 'skeleton', 'both'],
            seed=0,
            reliance=True,  # −R and −S
            out_dir=None,  # the work dir
            name=None)     # the config file's name
        test_evaluator = dict(type='RobustnessMetric',
                              baseline='work_dirs/none/robustness.json')

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader or dict): The test dataloader.
        evaluator (Evaluator or dict or list): Must hold one
            :class:`RobustnessMetric`.
        attacks (sequence[dict]): Attack configs for ``mmamr.ATTACKS``
            without ``targets`` (the loop sets it). An optional ``name``
            key names the attack in the results; the default is the type,
            followed by ``steps`` for attacks that take it (``PGD20``,
            ``CW30``, ``FGSM``) and by :func:`run_suffix` for restarts and
            the best iterate (``PGD20x5-best``). Names must be unique.
        targets (sequence[str]): Targets of every attack, in
            ``('rgb', 'skeleton', 'both')``. Targets needing a modality
            the model lacks are skipped (a unimodal model gets only its
            own). Defaults to all three.
        seed (int): Seed of the per-sample random starts. Defaults to 0.
        reliance (bool): Measure −R and −S (above), at the cost of one
            more pass over the test data (no model) and two predictions
            per batch. A model without both modalities gets neither:
            replacing its only input measures chance. Defaults to True.
        progress_interval (float): Seconds between progress lines (with
            ETA) in the log; the first and last batch are always logged.
            Defaults to 60.
        out_dir (str, optional): Folder of ``robustness.json`` and
            ``robustness.md``. Defaults to the runner's ``work_dir``.
        name (str, optional): Row name of this model in the tables and
            the JSON. Defaults to the config's file name (the runner's
            experiment name without a config file).
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 attacks: Sequence[dict],
                 targets: Sequence[str] = tuple(TARGETS),
                 seed: int = 0,
                 reliance: bool = True,
                 progress_interval: float = 60.,
                 out_dir: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        super().__init__(runner, dataloader, evaluator)
        self.attack_configs = parse_attacks(attacks)
        self.targets = parse_targets(targets)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f'test_cfg.seed={seed!r} must be an int.')
        self.seed = seed
        if not isinstance(reliance, bool):
            raise TypeError(f'test_cfg.reliance={reliance!r} must be a bool.')
        self.reliance = reliance
        self.progress_interval = float(progress_interval)
        self.out_dir = out_dir
        self.name = name
        metrics = [
            m for m in self.evaluator.metrics
            if isinstance(m, RobustnessMetric)
        ]
        if len(metrics) != 1:
            raise ValueError(
                'RobustTestLoop needs a RobustnessMetric in test_evaluator '
                '(e.g. test_evaluator=dict(type="RobustnessMetric")), one '
                'only; got '
                f'{[type(m).__name__ for m in self.evaluator.metrics]}.')
        self.metric = metrics[0]
        # (name, target, attack); built in run(), once the model is known.
        self.combos: List[Tuple[str, str, object]] = []
        self.applied_targets: Tuple[str, ...] = self.targets
        # The modalities replaced by their dataset mean (−R, −S) and the
        # means ``[C]`` (float64); set in run(), once the model is known.
        self.ablated: Tuple[str, ...] = ()
        self.ablation_means: Dict[str, torch.Tensor] = dict()

    @property
    def model(self) -> torch.nn.Module:
        """The bare model: attacks need no DDP (no parameter gradients)."""
        return unwrap_model(self.runner.model)

    def run(self) -> dict:
        """Evaluate clean and adversarial accuracy over the test set."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self.combos = self.build_combos(self.model)
        self.ablated = self.reliance_modalities(self.model)
        if self.ablated:
            self.ablation_means = self.compute_means()
        self.test_loss.clear()
        progress = Progress(
            len(self.dataloader), self.progress_interval, len(self.combos))
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
            progress.update(idx + 1)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        # The metric's result exists where the metrics were computed: in
        # the main process.
        if is_main_process():
            self.write_results(self.metric.summary)
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def build_combos(self, model) -> List[Tuple[str, str, object]]:
        """One attack object per (attack, applicable target)."""
        modalities = getattr(model, 'modalities', None)
        targets = [
            t for t in self.targets
            if modalities is None or set(TARGETS[t]) <= set(modalities)
        ]
        skipped = [t for t in self.targets if t not in targets]
        if not targets:
            raise ValueError(f'None of the targets {list(self.targets)} '
                             f'applies to a model with modalities '
                             f'{list(modalities)}.')
        if skipped:
            print_log(
                f'RobustTestLoop: the model has only {list(modalities)}; '
                f'targets {skipped} are not evaluated.', 'current')
        self.applied_targets = tuple(targets)
        combos, warned = [], False
        for name, cfg in self.attack_configs.items():
            for target in targets:
                attack = build_attack(dict(cfg, targets=target))
                if not isinstance(attack, Attack) and not warned:
                    warned = True
                    print_log(
                        f'{name} ({type(attack).__name__}) is not an mmamr '
                        'Attack: it is given one generator per sample, '
                        'and if it draws its randomness otherwise, results '
                        'may depend on the batching.',
                        logger='current',
                        level=logging.WARNING)
                combos.append((name, target, attack))
        return combos

    def reliance_modalities(self, model) -> Tuple[str, ...]:
        """The modalities replaced by their dataset mean: both, with
        ``reliance`` and a model that has both (or does not say)."""
        if not self.reliance:
            return ()
        modalities = getattr(model, 'modalities', None)
        if modalities is not None and not set(RELIANCE) <= set(modalities):
            print_log(
                f'RobustTestLoop: the model has only {list(modalities)}; '
                'no modality-reliance columns (−R, −S).', 'current')
            return ()
        return RELIANCE

    def compute_means(self) -> Dict[str, torch.Tensor]:
        """The pre-pass: the dataset means of the ablated inputs, logged
        (:func:`dataset_means`)."""
        print_log(
            f'RobustTestLoop: a pass over the {len(self.dataloader)} test '
            'batches (data preprocessor only) for the dataset means of '
            '−R/−S.', 'current')
        means = dataset_means(self.model, self.dataloader, self.ablated)
        described = []
        for m, mean in means.items():
            rounded = [round(v, 4) for v in mean.tolist()]
            described.append(f'{RELIANCE_HEADERS[m]}: {m} {rounded}')
        print_log(
            'RobustTestLoop: the dataset means per channel that replace '
            f'an input ({"; ".join(described)}).', 'current')
        return means

    @property
    def row_name(self) -> str:
        """``name``, else the config's file name."""
        if self.name:
            return self.name
        filename = getattr(self.runner.cfg, 'filename', None)
        return (osp.splitext(osp.basename(filename))[0]
                if filename else self.runner.experiment_name)

    def describe(self, summary: dict) -> dict:
        """The metric's result with what only the run knows: the row name,
        the seed, the model's modalities and each attack's config."""
        summary = copy.deepcopy(summary)
        modalities = getattr(self.model, 'modalities', None)
        summary.update(
            name=self.row_name,
            seed=self.seed,
            modalities=None if modalities is None else list(modalities))
        for attack, entry in summary['attacks'].items():
            if attack in self.attack_configs:
                entry['config'] = dict(self.attack_configs[attack])
        return summary

    def write_results(self, summary: dict) -> None:
        """Log the tables of the metric's result and write
        ``robustness.json`` and ``robustness.md`` to ``out_dir``."""
        summary = self.describe(summary)
        baseline = None
        if summary['baseline'] is not None:
            baseline_file = summary['baseline']['file']
            baseline = load_results(baseline_file)
            for note in config_differences(summary, baseline, baseline_file):
                print_log(note, logger='current', level=logging.WARNING)
        for k in (f'top{k}' for k in summary['topk']):
            for attack in summary['attacks']:
                rows = [(summary['name'], summary)]
                print_log(
                    f'Robustness ({attack}, {k}, %):\n' +
                    markdown_table(rows, attack, k), 'current')
        out_dir = self.out_dir or self.runner.work_dir
        json_file = osp.join(out_dir, 'robustness.json')
        md_file = osp.join(out_dir, 'robustness.md')
        dump_results(summary, json_file)
        write_text_atomic(markdown_report(summary, baseline), md_file)
        print_log(
            f'Robustness results written to {json_file} and '
            f'{md_file}.', 'current')

    def run_iter(self, idx: int, data_batch: Dict) -> None:
        """Clean and adversarial predictions of one batch."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        model = self.model
        with torch.no_grad():
            data = model.data_preprocessor(data_batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            outputs = model(
                inputs, [s.clone() for s in samples], mode='predict')
        ablated_scores = self.predict_ablated(model, inputs, samples)
        labels = gt_labels(samples, next(iter(inputs.values())).device)
        keys = [sample_key(s) for s in samples]
        adv_scores = [OrderedDict() for _ in samples]
        for name, target, attack in self.combos:
            with torch.enable_grad():
                adv = attack(
                    model,
                    inputs,
                    labels,
                    generator=sample_generators(self.seed, keys))
            with torch.no_grad():
                preds = model(
                    adv, [s.clone() for s in samples], mode='predict')
            for scores, pred in zip(adv_scores, preds):
                scores[f'{name}/{target}'] = pred.pred_score
        for output, scores, ablated in zip(outputs, adv_scores,
                                           ablated_scores):
            output.adv_pred_scores = scores
            if self.ablated:
                output.ablated_pred_scores = ablated
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    def predict_ablated(self, model, inputs: Dict[str, torch.Tensor],
                        samples: list) -> List['OrderedDict[str, object]']:
        """Per sample, ``modality -> score [K]`` with that modality's
        input replaced by its dataset mean, the other clean (−R, −S);
        empty without the diagnostic."""
        per_sample = [OrderedDict() for _ in samples]
        with torch.no_grad():
            for modality in self.ablated:
                ablated = dict(inputs)
                ablated[modality] = mean_input(inputs[modality],
                                               self.ablation_means[modality],
                                               modality)
                preds = model(
                    ablated, [s.clone() for s in samples], mode='predict')
                for scores, pred in zip(per_sample, preds):
                    scores[modality] = pred.pred_score
        return per_sample


# Attack names the results use for something else: the clean and reliance
# numbers beside the attacks, the per-sample worst case over them.
RESERVED_NAMES = ('clean', 'reliance', WORST_CASE)
# The axis of the channel whose dataset mean replaces an input (−R, −S):
# the colour of RGB ``[..., C, T, H, W]``, the coordinate of a skeleton
# ``[..., J, C]``.
CHANNEL_AXIS = dict(rgb=-4, skeleton=-1)


def channel_sums(x: torch.Tensor, modality: str) -> Tuple[List[float], int]:
    """Per-channel sum of one sample's input over its entries that are
    not padding, and their number per channel.

    Args:
        x (torch.Tensor): One sample's preprocessed input: RGB
            ``[V, C, T, H, W]``, skeleton ``[V, M, T, J, C]`` (``V``
            views).
        modality (str): Its modality (``rgb``, ``skeleton``).

    Returns:
        tuple[list[float], int]: The ``C`` sums (float64) and the count.
    """
    values = x.detach().double().movedim(CHANNEL_AXIS[modality], -1)
    channels = values.shape[-1]
    sums = values.reshape(-1, channels).sum(0).tolist()
    if modality not in PADDED_MODALITIES:
        return sums, values.numel() // channels
    # Padding is exactly zero: it adds nothing to the sums, but must not
    # count (an absent second body would pull the mean to zero).
    valid = (~padding_mask(x)).expand_as(x)
    return sums, int(valid.sum()) // channels


def local_channel_sums(model, dataloader: DataLoader,
                       modalities: Sequence[str]) -> Dict[str, dict]:
    """Preprocess this process's share of the test set (no model
    forward); return ``sample key -> modality -> (sums, count)``
    (:func:`channel_sums`), each sample once."""
    stats = dict()
    with torch.no_grad():
        for data_batch in dataloader:
            data = model.data_preprocessor(data_batch, False)
            inputs = data['inputs']
            missing = [m for m in modalities if m not in inputs]
            if missing:
                raise KeyError(f'The modality-reliance diagnostic needs the '
                               f'{missing} inputs; the batch has '
                               f'{sorted(inputs)}. Set '
                               'test_cfg.reliance=False to skip it.')
            for i, sample in enumerate(data['data_samples']):
                key = sample_key(sample)
                if key not in stats:
                    stats[key] = {
                        m: channel_sums(inputs[m][i], m)
                        for m in modalities
                    }
    return stats


def merge_channel_sums(parts: Sequence[Dict[str, dict]],
                       modalities: Sequence[str]) -> Dict[str, torch.Tensor]:
    """The per-channel means ``[C]`` (float64, CPU) of the processes'
    :func:`local_channel_sums`, each sample counted once: the sampler
    pads a process's share with samples another process has."""
    merged = dict()
    for part in parts:
        for key, stats in part.items():
            merged.setdefault(key, stats)
    means = dict()
    for m in modalities:
        count = sum(stats[m][1] for stats in merged.values())
        if count == 0:
            raise ValueError(f'The test set has no {m} input that is not '
                             'padding: no dataset mean to replace it by.')
        # fsum rounds the exact sum once, in any order: any split of the
        # data over processes gives the same means, bit for bit.
        sums = zip(*(stats[m][0] for stats in merged.values()))
        means[m] = torch.tensor([math.fsum(c) for c in sums],
                                dtype=torch.float64) / count
    return means


def dataset_means(model, dataloader: DataLoader,
                  modalities: Sequence[str]) -> Dict[str, torch.Tensor]:
    """The per-channel dataset mean of each modality's preprocessed
    input (what the attacks see) over the whole test set, all processes
    together (:func:`merge_channel_sums`).

    Args:
        model (nn.Module): The bare model (its ``data_preprocessor``).
        dataloader (DataLoader): This process's test dataloader.
        modalities (sequence[str]): The inputs to average.

    Returns:
        dict[str, torch.Tensor]: ``modality -> [C]`` (float64, CPU).
    """
    local = local_channel_sums(model, dataloader, modalities)
    return merge_channel_sums(all_gather_object(local), modalities)


def mean_input(x: torch.Tensor, mean: torch.Tensor,
               modality: str) -> torch.Tensor:
    """``x`` with every entry replaced by its channel's dataset mean; the
    skeleton's padding stays exactly zero (padding is not input).

    Args:
        x (torch.Tensor): A preprocessed batch, RGB ``[N, V, C, T, H, W]``
            or skeleton ``[N, V, M, T, J, C]``.
        mean (torch.Tensor): The channel means ``[C]``.
        modality (str): The modality of ``x``.

    Returns:
        torch.Tensor: Shaped and typed like ``x``.
    """
    shape = (-1, ) + (1, ) * (-CHANNEL_AXIS[modality] - 1)
    fill = mean.to(device=x.device, dtype=x.dtype).reshape(shape)
    return keep_padding(fill.expand_as(x), x, modality).contiguous()


def build_attack(cfg: dict) -> object:
    """Build an attack from ``mmamr.ATTACKS`` whatever the default scope
    (configs use ``'mmaction'``, where the attack registry is unknown)."""
    with DefaultScope.overwrite_default_scope('mmamr'):
        return ATTACKS.build(cfg)


def parse_attacks(attacks: Sequence[dict]) -> 'OrderedDict[str, dict]':
    """Validate the ``attacks`` field; return ``name -> config``."""
    if isinstance(attacks, dict) or not attacks:
        raise ValueError('test_cfg.attacks must be a non-empty list of '
                         f'attack configs; got {attacks!r}.')
    configs = OrderedDict()
    for i, cfg in enumerate(attacks):
        where = f'test_cfg.attacks[{i}]'
        if not isinstance(cfg, dict) or 'type' not in cfg:
            raise ValueError(f'{where} must be a dict with a "type"; got '
                             f'{cfg!r}.')
        cfg = copy.deepcopy(dict(cfg))
        if 'targets' in cfg:
            raise ValueError(f'{where} sets "targets"; set test_cfg.targets '
                             'instead (every attack runs on each).')
        name = cfg.pop('name', None) or default_name(cfg)
        if not isinstance(name, str) or '/' in name:
            raise ValueError(f'{where}: name {name!r} must be a string '
                             'without "/".')
        if name in configs:
            raise ValueError(f'{where}: two attacks are named {name!r}; '
                             'give them distinct "name" keys.')
        if name in RESERVED_NAMES:
            raise ValueError(f'{where}: the name {name!r} is reserved '
                             f'({list(RESERVED_NAMES)} name other '
                             'results); give the attack another "name".')
        # Fail now, with the config's position, not after a batch.
        try:
            build_attack(dict(cfg, targets='both'))
        except Exception as err:
            raise type(err)(f'{where} = {cfg}: {err}') from err
        configs[name] = to_plain(cfg)
    return configs


def default_name(cfg: dict) -> str:
    """``PGD20`` for ``dict(type='PGD', steps=20)``; ``FGSM``;
    ``PGD20x5-best`` with ``restarts=5, best_iterate=True``."""
    kind = cfg['type'] if isinstance(cfg['type'], str) else getattr(
        cfg['type'], '__name__', str(cfg['type']))
    with DefaultScope.overwrite_default_scope('mmamr'):
        cls = ATTACKS.get(kind)
    params = inspect.signature(cls.__init__).parameters if cls else {}
    if 'steps' not in params:
        return kind
    steps = cfg.get('steps', params['steps'].default)
    return f'{kind}{steps}{run_suffix(cfg)}'


def run_suffix(cfg: dict) -> str:
    """``'x5'`` for ``restarts=5``, ``'-best'`` for ``best_iterate``:
    a stronger evaluation never shares its name (and its row in a table
    against a baseline) with the paper's single run and last iterate."""
    restarts = cfg.get('restarts', 1)
    suffix = '' if restarts == 1 else f'x{restarts}'
    return suffix + ('-best' if cfg.get('best_iterate') else '')


def to_plain(value):
    """Config values as plain JSON types (ConfigDict -> dict, tuple ->
    list)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, type):
        return value.__name__
    return value


def parse_targets(targets: Sequence[str]) -> Tuple[str, ...]:
    """Validate ``targets``; keep the paper's column order."""
    if isinstance(targets, str):
        targets = [targets]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown or not targets:
        raise ValueError(f'test_cfg.targets={list(targets)}: choose from '
                         f'{list(TARGETS)} (✗R, ✗S, ✗RS).')
    return tuple(t for t in TARGETS if t in targets)


class Progress:
    """Log ``[done/total]``, elapsed time and ETA at most every
    ``interval`` seconds (plus the first and last batch), so that a
    non-interactive log gets a bounded number of lines."""

    def __init__(self, total: int, interval: float, combos: int) -> None:
        self.total = total
        self.interval = interval
        self.combos = combos
        self.start = time.monotonic()
        self.last: Optional[float] = None

    def update(self, done: int) -> None:
        now = time.monotonic()
        if (self.last is not None and done < self.total
                and now - self.last < self.interval):
            return
        self.last = now
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done)
        print_log(
            f'Robust test [{done}/{self.total}] batches, {self.combos} '
            f'attack x target runs each; elapsed '
            f'{timedelta(seconds=int(elapsed))}, ETA '
            f'{timedelta(seconds=int(eta))}', 'current')
