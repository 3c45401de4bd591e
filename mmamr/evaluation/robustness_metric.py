# Copyright (c) mmamr contributors. All rights reserved.
import logging
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from .robustness import (COLUMNS, RELIANCE, add_relative_improvement,
                         load_results, summarize)

WORST_CASE = 'worst-case'


def topk_hits(score: np.ndarray, label: int,
              topk: Sequence[int]) -> List[bool]:
    """Whether ``label`` is among the ``k`` best of ``score`` ``[K]``, for
    each ``k``; ranked as mmaction2's ``top_k_accuracy`` ranks, so that
    the clean column equals ``AccMetric``."""
    order = np.argsort(score[None], axis=1)[0]
    return [bool(label in order[-k:]) for k in topk]


@METRICS.register_module()
class RobustnessMetric(BaseMetric):
    """Clean and robust accuracy (✓RS, ✗R, ✗S, ✗RS), Avg and RI.

    Consumes the predictions of :class:`RobustTestLoop`: each data sample
    carries the clean ``pred_score`` ``[K]`` and ``adv_pred_scores``, a
    dict ``'<attack>/<target>' -> [K]`` that names the attack and the
    target of each score. The attacks and targets are read from those
    keys, in their order; every sample must have the same. ``process``
    keeps only top-k hits per sample, which mmengine gathers from every
    process, so the numbers of ``dist_test.sh`` are those of one process.

    The modality-reliance diagnostic: a sample may also carry
    ``ablated_pred_scores``, a dict ``modality -> [K]`` of the scores with
    that modality's input replaced by its dataset mean (``rgb``: −R,
    ``skeleton``: −S; see :class:`RobustTestLoop`). Where the samples
    carry none (a unimodal model, ``reliance=False``, predictions made
    before the diagnostic existed) there are no reliance numbers.

    ``compute_metrics`` returns the accuracies (in %) as
    ``clean/top1``, ``reliance/<modality>/top1`` (−R, −S),
    ``<attack>/<target>/top1``, ``<attack>/avg/top1`` and
    ``<attack>/ri/top1`` (and ``top5``; mmengine prefixes ``robust/``),
    and keeps the same numbers structured in :attr:`summary`: the result
    dict of :mod:`mmamr.evaluation.robustness` without what only the run
    knows (``name``, ``seed``, ``modalities`` and each attack's
    ``config``, left empty), which :class:`RobustTestLoop` fills in
    before it writes ``robustness.json`` and ``robustness.md``.

    Args:
        topk (sequence[int]): The ``k`` of top-k accuracy. Defaults to
            ``(1, 5)``.
        baseline (str, optional): ``robustness.json`` of the baseline
            model (the paper's "None") for RI. Defaults to None (no RI).
        worst_case (bool): With several attacks, also report per target
            the per-sample worst case over them (a sample counts as
            robust only if every attack fails on it), as AutoAttack
            does. Defaults to True.
        collect_device, prefix, collect_dir: See mmengine's
            ``BaseMetric``. The prefix defaults to ``'robust'``.
    """
    default_prefix = 'robust'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 baseline: Optional[str] = None,
                 worst_case: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None,
                 **kwargs) -> None:
        moved = sorted(set(kwargs) & {'out_dir', 'name'})
        if moved:
            raise TypeError(
                f'RobustnessMetric does not take {moved}: the test loop '
                'writes the result files; set them in test_cfg=dict('
                "type='RobustTestLoop', ...).")
        if kwargs:
            raise TypeError('RobustnessMetric got unexpected arguments '
                            f'{sorted(kwargs)}.')
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        if isinstance(topk, int):
            topk = (topk, )
        if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'RobustnessMetric.topk={topk!r}: positive '
                             'ints expected.')
        self.topk = tuple(topk)
        self.baseline = baseline
        self.worst_case = worst_case
        # The structured result of the last compute_metrics (in the
        # process that computes the metrics).
        self.summary: Optional[dict] = None
        if baseline is not None:
            # Fail before hours of attacks, not after.
            load_results(baseline)

    def process(self, data_batch: object,
                data_samples: Sequence[dict]) -> None:
        """Keep the top-k hits of each sample, clean and per attack."""
        for sample in data_samples:
            if 'adv_pred_scores' not in sample:
                raise KeyError('RobustnessMetric needs the predictions of '
                               'RobustTestLoop (test_cfg=dict(type='
                               '"RobustTestLoop", ...)); got a sample '
                               f'with keys {sorted(sample)}.')
            label = sample['gt_label']
            if label.numel() != 1:
                raise ValueError('RobustnessMetric expects one label per '
                                 f'sample; got gt_label {label}.')
            label = int(label.item())
            hits = dict(clean=self._hits(sample['pred_score'], label))
            for key, score in sample['adv_pred_scores'].items():
                hits[key] = self._hits(score, label)
            ablated = {
                m: self._hits(score, label)
                for m, score in (
                    sample.get('ablated_pred_scores') or {}).items()
            }
            self.results.append(
                dict(
                    id=sample_id(sample),
                    label=label,
                    hits=hits,
                    ablated=ablated))

    def _hits(self, score, label: int) -> List[bool]:
        return topk_hits(score.detach().cpu().float().numpy(), label,
                         self.topk)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracies, Avg and RI; also kept in :attr:`summary`."""
        keys = [f'top{k}' for k in self.topk]

        def accuracy(hit_lists: List[List[bool]]) -> Dict[str, float]:
            hits = np.asarray(hit_lists, dtype=bool).reshape(-1, len(keys))
            return {k: 100. * float(v) for k, v in zip(keys, hits.mean(0))}

        attacks = attack_targets(results)
        clean = accuracy([r['hits']['clean'] for r in results])
        columns = OrderedDict()
        for attack, targets in attacks.items():
            columns[attack] = {
                t: accuracy([r['hits'][f'{attack}/{t}'] for r in results])
                for t in targets
            }
        configs = dict()
        if self.worst_case and len(attacks) > 1:
            columns[WORST_CASE], configs[WORST_CASE] = self._worst_case(
                results, attacks, accuracy)
        reliance = {
            m: accuracy([r['ablated'][m] for r in results])
            for m in ablated_modalities(results)
        }
        summary = summarize(
            None,
            clean,
            columns,
            configs,
            num_samples=len(results),
            topk=self.topk,
            reliance=reliance,
            per_sample=(per_sample_record(results, attacks, self.topk.index(1))
                        if 1 in self.topk else None))
        if self.baseline is not None:
            # The attacks' configs are the run's to compare (the loop
            # does); the numbers are compared here.
            notes = add_relative_improvement(
                summary,
                load_results(self.baseline),
                self.baseline,
                compare_configs=False)
            for note in notes:
                print_log(note, logger='current', level=logging.WARNING)
        self.summary = summary
        return self._flatten(summary)

    @staticmethod
    def _worst_case(results: List[dict], attacks: Dict[str, Tuple[str, ...]],
                    accuracy) -> Tuple[dict, dict]:
        """Per target (of every attack): a sample is a hit iff it is one
        under every attack (top-k hits are per k)."""
        names = list(attacks)
        targets = [
            t for t in attacks[names[0]]
            if all(t in ts for ts in attacks.values())
        ]
        cols = dict()
        for t in targets:
            per_sample = [
                np.logical_and.reduce([r['hits'][f'{a}/{t}']
                                       for a in names]).tolist()
                for r in results
            ]
            cols[t] = accuracy(per_sample)
        return cols, dict(attacks=names)

    @staticmethod
    def _flatten(summary: dict) -> Dict[str, float]:
        flat = OrderedDict()
        for k, v in summary['clean'].items():
            flat[f'clean/{k}'] = v
        for m, accuracies in (summary['reliance'] or {}).items():
            for k, v in accuracies.items():
                flat[f'reliance/{m}/{k}'] = v
        for attack, entry in summary['attacks'].items():
            for t in COLUMNS:
                for k, v in entry['columns'].get(t, {}).items():
                    flat[f'{attack}/{t}/{k}'] = v
            for k, v in entry['avg'].items():
                flat[f'{attack}/avg/{k}'] = v
            for k, v in (entry['ri'] or {}).items():
                flat[f'{attack}/ri/{k}'] = v
        return flat


def sample_id(sample: dict) -> Optional[str]:
    """The name of a test sample in the per-sample record: the clip
    (``frame_dir``, e.g. ``S001C001P001R001A001``), else the dataset
    index; None when the sample carries neither."""
    for key in ('frame_dir', 'sample_idx'):
        if sample.get(key) is not None:
            return str(sample[key])
    return None


def per_sample_record(results: List[dict], attacks: Dict[str, Tuple[str, ...]],
                      top1: int) -> dict:
    """The top-1 hit of every sample, clean and per attack and target, in
    the order of the test set (mmengine gathers the processes' results in
    the dataset's order): what lets two attacks be compared sample by
    sample (:mod:`mmamr.evaluation.per_sample`). Hits are strings of
    ``'1'`` (correct) and ``'0'``, one character per sample; ``top1`` is
    the index of k = 1 in the hit lists."""

    def bits(hit_lists: List[List[bool]]) -> str:
        return ''.join('1' if hits[top1] else '0' for hits in hit_lists)

    return dict(
        samples=[r.get('id') for r in results],
        clean=bits([r['hits']['clean'] for r in results]),
        attacks={
            attack: {
                t: bits([r['hits'][f'{attack}/{t}'] for r in results])
                for t in targets
            }
            for attack, targets in attacks.items()
        })


def attack_targets(results: List[dict]) -> Dict[str, Tuple[str, ...]]:
    """``attack -> targets`` from the ``'<attack>/<target>'`` keys of the
    samples' hits, in their order; every sample must have the same."""
    if not results:
        raise ValueError('RobustnessMetric got no predictions.')
    combos = [k for k in results[0]['hits'] if k != 'clean']
    for result in results:
        found = [k for k in result['hits'] if k != 'clean']
        if found != combos:
            raise ValueError('The predictions disagree on the attacks and '
                             f'targets they hold: {combos} vs {found}.')
    attacks = OrderedDict()
    for key in combos:
        attack, _, target = key.rpartition('/')
        if not attack or target not in COLUMNS:
            raise ValueError(f'adv_pred_scores key {key!r} is not '
                             f"'<attack>/<target>' with a target in "
                             f'{list(COLUMNS)}.')
        attacks.setdefault(attack, ())
        attacks[attack] += (target, )
    return attacks


def ablated_modalities(results: List[dict]) -> Tuple[str, ...]:
    """The modalities replaced by their mean in every sample (−R, −S), in
    the tables' order; none when the samples carry no ablation."""
    found = [tuple(r.get('ablated') or {}) for r in results]
    if any(f != found[0] for f in found):
        raise ValueError('The predictions disagree on the modalities they '
                         'hold ablated_pred_scores for: '
                         f'{sorted(set(found))}.')
    unknown = sorted(set(found[0]) - set(RELIANCE))
    if unknown:
        raise ValueError(f'ablated_pred_scores keys {unknown}: the modality '
                         f'replaced, one of {list(RELIANCE)}, expected.')
    return tuple(m for m in RELIANCE if m in found[0])
