# Copyright (c) mmamr contributors. All rights reserved.
import logging
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmaction.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmamr.common import write_text_atomic
from .robustness import (COLUMNS, add_relative_improvement, dump_results,
                         load_results, markdown_report, markdown_table,
                         summarize)

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
    dict ``'<attack>/<target>' -> [K]``. ``process`` keeps only top-k
    hits per sample, which mmengine gathers from every process, so the
    numbers of ``dist_test.sh`` are those of one process.

    Results (accuracies in %) are logged, returned as
    ``robust/clean/top1``, ``robust/<attack>/<target>/top1``,
    ``robust/<attack>/avg/top1`` and ``robust/<attack>/ri/top1`` (and
    ``top5``), and written to ``<out_dir>/robustness.json`` (schema in
    :mod:`mmamr.evaluation.robustness`) and ``robustness.md`` (the
    paper's table layout).

    Args:
        topk (sequence[int]): The ``k`` of top-k accuracy. Defaults to
            ``(1, 5)``.
        baseline (str, optional): ``robustness.json`` of the baseline
            model (the paper's "None") for RI. Defaults to None (no RI).
        worst_case (bool): With several attacks, also report per target
            the per-sample worst case over them (a sample counts as
            robust only if every attack fails on it), as AutoAttack
            does. Defaults to True.
        out_dir (str, optional): Folder of the output files. Defaults to
            the runner's ``work_dir`` (set by :class:`RobustTestLoop`).
        name (str, optional): Row name of this model in tables. Defaults
            to the config's file name (set by :class:`RobustTestLoop`).
        collect_device, prefix, collect_dir: See mmengine's
            ``BaseMetric``. The prefix defaults to ``'robust'``.
    """
    default_prefix = 'robust'

    def __init__(self,
                 topk: Sequence[int] = (1, 5),
                 baseline: Optional[str] = None,
                 worst_case: bool = True,
                 out_dir: Optional[str] = None,
                 name: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
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
        self.out_dir = out_dir
        self.name = name
        # Filled by RobustTestLoop.configure_metric.
        self.attack_configs: Dict[str, dict] = OrderedDict()
        self.targets: Tuple[str, ...] = ()
        self.seed: Optional[int] = None
        self.modalities: Optional[Tuple[str, ...]] = None
        if baseline is not None:
            # Fail before hours of attacks, not after.
            load_results(baseline)

    def configure(self,
                  attack_configs: Mapping[str, dict],
                  targets: Sequence[str],
                  seed: Optional[int] = None,
                  modalities: Optional[Sequence[str]] = None,
                  name: Optional[str] = None,
                  out_dir: Optional[str] = None) -> None:
        """Describe the evaluation protocol (called by the loop).

        Args:
            attack_configs (dict): Attack name -> its config, in order.
            targets (sequence[str]): The evaluated targets of each attack.
            seed (int, optional): Seed of the random starts.
            modalities (sequence[str], optional): The model's modalities.
            name (str, optional): Default row name (``self.name`` wins).
            out_dir (str, optional): Default output folder
                (``self.out_dir`` wins).
        """
        self.attack_configs = OrderedDict(attack_configs)
        self.targets = tuple(targets)
        self.seed = seed
        self.modalities = None if modalities is None else tuple(modalities)
        self.name = self.name or name
        self.out_dir = self.out_dir or out_dir

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
            self.results.append(dict(label=label, hits=hits))

    def _hits(self, score, label: int) -> List[bool]:
        return topk_hits(score.detach().cpu().float().numpy(), label,
                         self.topk)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracies, Avg and RI; writes the JSON and Markdown files."""
        keys = [f'top{k}' for k in self.topk]

        def accuracy(hit_lists: List[List[bool]]) -> Dict[str, float]:
            hits = np.asarray(hit_lists, dtype=bool).reshape(-1, len(keys))
            return {k: 100. * float(v) for k, v in zip(keys, hits.mean(0))}

        clean = accuracy([r['hits']['clean'] for r in results])
        columns = OrderedDict()
        for attack in self.attack_configs:
            columns[attack] = {
                t: accuracy([r['hits'][f'{attack}/{t}'] for r in results])
                for t in self.targets
            }
        configs = OrderedDict(self.attack_configs)
        if self.worst_case and len(self.attack_configs) > 1:
            columns[WORST_CASE], configs[WORST_CASE] = self._worst_case(
                results, accuracy)
        summary = summarize(
            self.name or 'model',
            clean,
            columns,
            configs,
            num_samples=len(results),
            topk=self.topk,
            seed=self.seed,
            modalities=self.modalities)
        baseline = None
        if self.baseline is not None:
            baseline = load_results(self.baseline)
            notes = add_relative_improvement(summary, baseline, self.baseline)
            for note in notes:
                print_log(note, logger='current', level=logging.WARNING)
        self._write(summary, baseline)
        return self._flatten(summary)

    def _worst_case(self, results, accuracy):
        """Per target: a sample is a hit iff it is one under every
        attack (top-k hits are per k)."""
        attacks = list(self.attack_configs)
        cols = dict()
        for t in self.targets:
            per_sample = [
                np.logical_and.reduce([r['hits'][f'{a}/{t}']
                                       for a in attacks]).tolist()
                for r in results
            ]
            cols[t] = accuracy(per_sample)
        return cols, dict(attacks=attacks)

    def _write(self, summary: dict, baseline: Optional[dict]) -> None:
        for k in (f'top{k}' for k in self.topk):
            for attack in summary['attacks']:
                rows = [(summary['name'], summary)]
                print_log(
                    f'Robustness ({attack}, {k}, %):\n' +
                    markdown_table(rows, attack, k), 'current')
        if self.out_dir is None:
            print_log(
                'RobustnessMetric has no out_dir; robustness.json not '
                'written.',
                logger='current',
                level=logging.WARNING)
            return
        json_file = osp.join(self.out_dir, 'robustness.json')
        md_file = osp.join(self.out_dir, 'robustness.md')
        dump_results(summary, json_file)
        write_text_atomic(markdown_report(summary, baseline), md_file)
        print_log(
            f'Robustness results written to {json_file} and '
            f'{md_file}.', 'current')

    @staticmethod
    def _flatten(summary: dict) -> Dict[str, float]:
        flat = OrderedDict()
        for k, v in summary['clean'].items():
            flat[f'clean/{k}'] = v
        for attack, entry in summary['attacks'].items():
            for t in COLUMNS:
                for k, v in entry['columns'].get(t, {}).items():
                    flat[f'{attack}/{t}/{k}'] = v
            for k, v in entry['avg'].items():
                flat[f'{attack}/avg/{k}'] = v
            for k, v in (entry['ri'] or {}).items():
                flat[f'{attack}/ri/{k}'] = v
        return flat
