# Copyright (c) mmamr contributors. All rights reserved.
"""Follow attacks step by step on a few clips, over several seeds.

When two attacks disagree on a sample (``tools/analysis/attack_strength.py``
names the clips), a reviewer asks whether that is chance or a property of
an attack. This tool runs each attack on each named clip alone, once per
attack seed, exactly as ``tools/test.py --attack ... --attack-seed SEED``
does (the same configs and the same per-sample random starts, so seed 0
reproduces the evaluation's outcome for the clip), and records at every
forward of the model inside the attack the cross-entropy, the margin
``max_{j≠y} z_j − z_y`` (positive iff misclassified) and the top-1 class,
then the same for the adversarial example returned::

    python tools/analysis/attack_trace.py configs/amr_c3d_hcn_synthetic.py \\
        work_dirs/quickstart/amr/epoch_4.pth \\
        --clips S001C002P006R001A004 --attack pgd apgd-ce --targets rgb \\
        --seeds 20 --out work_dirs/trace.json \\
        --cfg-options test_dataloader.dataset.ann_file=data/synthetic/\\
synthetic_3d_rgb.pkl

It prints, per clip, attack and target: in how many seeds the attack
fooled the clip, the highest cross-entropy it reached and the margin of
its result (median over seeds); the JSON holds every trace.
"""
import argparse
import json
import statistics
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmaction.registry import DATASETS
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.attacks.losses import margin
from mmamr.common import gt_labels, write_text_atomic
from mmamr.datasets import rgb_skeleton_collate
from mmamr.engine.robust_test_loop import build_attack
from mmamr.engine.sample_seeding import sample_generators, sample_key
from mmamr.evaluation.robustness import COLUMNS, HEADERS
from mmamr.utils.checkpoint_model import load_model
from mmamr.utils.robust_test_args import ATTACK_TYPES, attack_configs


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Attacks step by step on a few clips, over seeds')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--clips',
        nargs='+',
        required=True,
        help='frame_dir of each clip (e.g. S001C002P006R001A004)')
    parser.add_argument(
        '--attack',
        nargs='+',
        required=True,
        type=str.lower,
        choices=sorted(ATTACK_TYPES),
        help="as tools/test.py's --attack")
    parser.add_argument(
        '--targets', nargs='+', choices=COLUMNS, default=list(COLUMNS))
    parser.add_argument(
        '--seeds',
        type=int,
        default=10,
        help='attack seeds 0 .. N-1 (seed 0 is the evaluation default)')
    parser.add_argument('--eps', type=float, help='L∞ budget /255')
    parser.add_argument('--alpha', type=float, help='PGD/CW step /255')
    parser.add_argument('--steps', type=int, help='PGD/CW/APGD steps')
    parser.add_argument('--out', help='write every trace here (JSON)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override the config\'s test data, e.g. '
        'test_dataloader.dataset.ann_file=... (the model is built from the '
        'config file as it is)')
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f'--seeds {args.seeds} must be >= 1.')
    # What attack_configs reads besides these: tools/test.py's defaults.
    args.no_random_start, args.restarts, args.best_iterate = False, None, False
    args.queries, args.kappa = None, None
    return args


def named_clips(cfg: Config, clips: List[str]) -> Dict[str, dict]:
    """``clip -> data sample`` of the config's test set (pipeline run)."""
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmaction')):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
    index = {
        dataset.get_data_info(i).get('frame_dir'): i
        for i in range(len(dataset))
    }
    missing = [c for c in clips if c not in index]
    if missing:
        raise KeyError(f'{missing} are not in the test set of '
                       f'{cfg.filename} ({len(dataset)} clips).')
    return {c: dataset[index[c]] for c in clips}


def point(logits: torch.Tensor, label: torch.Tensor) -> list:
    """``[cross-entropy, margin, top-1]`` of one sample's logits ``[1, K]``."""
    return [
        round(F.cross_entropy(logits, label).item(), 5),
        round(margin(logits, label).item(), 5),
        int(logits.argmax(1))
    ]


def trace(model, inputs: dict, label: torch.Tensor, attack, key: str,
          seed: int) -> dict:
    """One attack run on one sample: a ``point`` per forward inside the
    attack (``steps``) and of the returned example (``result``)."""
    logits_seen = []
    hook = model.cls_head.register_forward_hook(
        lambda module, args, out: logits_seen.append(out.detach()))
    try:
        adv = attack(
            model, inputs, label, generator=sample_generators(seed, [key]))
        steps = [point(z.float(), label) for z in logits_seen]
        logits_seen.clear()
        with torch.no_grad():
            model(adv, mode='tensor')
        result = point(logits_seen[-1].float(), label)
    finally:
        hook.remove()
    return dict(seed=seed, steps=steps, result=result, fooled=result[1] > 0)


def summary_line(clip: str, name: str, target: str, runs: List[dict]) -> str:
    fooled = sum(r['fooled'] for r in runs)
    top_ce = statistics.median(max(p[0] for p in r['steps']) for r in runs)
    final = statistics.median(r['result'][1] for r in runs)
    return (f'| {clip} | {name} | {HEADERS[target]} | {fooled}/{len(runs)} '
            f'| {top_ce:.3f} | {final:+.3f} |')


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = load_model(args.config, args.checkpoint)
    samples = named_clips(cfg, args.clips)
    configs = attack_configs(args)
    out = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        attacks={c['name']: c
                 for c in configs},
        clips=dict())
    lines = [
        '| clip | attack | target | fooled (seeds) | highest CE (median) '
        '| result margin (median) |', '|---|---|---|---:|---:|---:|'
    ]
    for clip, sample in samples.items():
        with torch.no_grad():
            data = model.data_preprocessor(
                rgb_skeleton_collate([sample]), False)
        inputs, data_samples = data['inputs'], data['data_samples']
        label = gt_labels(data_samples, next(iter(inputs.values())).device)
        key = sample_key(data_samples[0])
        with torch.no_grad():
            clean = model(inputs, mode='tensor')
        entry = out['clips'][clip] = dict(
            label=int(label), clean=point(clean.float(), label), runs=dict())
        for cfg_attack in configs:
            name = cfg_attack['name']
            for target in args.targets:
                attack = build_attack(
                    dict({
                        k: v
                        for k, v in cfg_attack.items() if k != 'name'
                    },
                         targets=target))
                runs = [
                    trace(model, inputs, label, attack, key, seed)
                    for seed in range(args.seeds)
                ]
                entry['runs'][f'{name}/{target}'] = runs
                lines.append(summary_line(clip, name, target, runs))
    print('\n'.join(lines))
    if args.out:
        write_text_atomic(json.dumps(out) + '\n', args.out)
    return out


if __name__ == '__main__':
    main()
