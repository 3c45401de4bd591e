# Copyright (c) mmamr contributors. All rights reserved.
"""AMR weight analysis of a checkpoint: the paper's Table 3 and Figure 4.

Table 3 is the mean of ``W_R`` and ``W_S`` of every AMR; Figure 4 the
per-channel mean weight (the mean of ``W`` over its temporal and spatial
axes, one value per channel) of every AMR and modality.

Usage::

    python tools/analysis/amr_weights.py CHECKPOINT --out-dir DIR

writes ``DIR/amr_weights.md`` (Table 3, the weight shapes and a link to
the figure) and ``DIR/amr_weights.png`` (Figure 4; needs matplotlib), both
atomically. AMR ``i`` is the module after the ``i``-th deepest stage
(state-dict keys ``between_stages.<i>.weights.<modality>``).
"""
import argparse
import os
import os.path as osp
import re
from typing import Dict

import torch
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

import mmamr  # noqa: F401  (compat: loads checkpoints with a message hub)
from mmamr.common import save_figure_atomic, write_text_atomic

KEY = re.compile(r'(?:^|\.)between_stages\.(\d+)\.weights\.(\w+)$')
NAMES = dict(rgb='W_R', skeleton='W_S')
Weights = Dict[int, Dict[str, torch.Tensor]]


def amr_weights(state_dict: Dict[str, torch.Tensor]) -> Weights:
    """``{i: {modality: W [C, ...]}}`` of every AMR, ``i`` ascending."""
    found: Weights = dict()
    for key, value in state_dict.items():
        match = KEY.search(key)
        if match:
            depth, modality = int(match.group(1)), match.group(2)
            # W is [1, C, ...]: drop the batch axis it broadcasts over.
            found.setdefault(depth, dict())[modality] = value.detach()[0]
    return {d: found[d] for d in sorted(found)}


def load(path: str) -> Weights:
    """AMR weights of a checkpoint file; a clear error if it has none."""
    checkpoint = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    state_dict = checkpoint.get('state_dict', checkpoint)
    weights = amr_weights(state_dict)
    if not weights:
        raise ValueError(f'{path} holds no AMR weights (no state-dict key '
                         'like between_stages.1.weights.rgb): was it trained '
                         'with model.amr.num_modules > 0?')
    return weights


def channel_means(weight: torch.Tensor) -> torch.Tensor:
    """Mean over every axis but the channels: ``[C, ...] -> [C]``."""
    return weight.flatten(1).mean(dim=1)


def modalities_of(weights: Weights):
    names = {m for per_amr in weights.values() for m in per_amr}
    return [m for m in NAMES if m in names] + sorted(names - set(NAMES))


def table_markdown(weights: Weights, title: str = '') -> str:
    """Table 3 (mean of each W per AMR) and the shapes, as Markdown."""
    depths = list(weights)
    header = ['', *[f'AMR {d}' for d in depths]]
    lines = [f'# AMR weights{": " + title if title else ""}', '']
    lines += ['Mean value of each AMR\'s weights (the paper\'s Table 3):', '']
    lines.append('| ' + ' | '.join(header) + ' |')
    lines.append('|' + '---|' + '---:|' * len(depths))
    for modality in modalities_of(weights):
        name = NAMES.get(modality, f'W ({modality})')
        cells = [
            f'{float(weights[d][modality].mean()):.4f}'
            if modality in weights[d] else '-' for d in depths
        ]
        lines.append(f'| Mean value of {name} | ' + ' | '.join(cells) + ' |')
    lines += ['', 'Weight shapes (channels first, batch axis omitted):', '']
    for d in depths:
        shapes = ', '.join(f'{NAMES.get(m, m)} {list(w.shape)}'
                           for m, w in weights[d].items())
        lines.append(f'- AMR {d}: {shapes}')
    return '\n'.join(lines) + '\n'


def plot_figure(weights: Weights, path: str, title: str = '') -> None:
    """Figure 4: per-channel mean weight of every AMR (columns) and
    modality (rows)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows, depths = modalities_of(weights), list(weights)
    fig, axes = plt.subplots(
        len(rows),
        len(depths),
        figsize=(3.2 * len(depths), 2.4 * len(rows)),
        squeeze=False)
    for r, modality in enumerate(rows):
        for c, depth in enumerate(depths):
            ax = axes[r][c]
            if modality not in weights[depth]:
                ax.axis('off')
                continue
            means = channel_means(weights[depth][modality]).numpy()
            ax.plot(range(len(means)), means, linewidth=0.8)
            ax.set_title(
                f'AMR {depth}: {NAMES.get(modality, modality)}', fontsize=9)
            ax.set_xlabel('channel', fontsize=8)
            ax.set_ylabel('mean weight', fontsize=8)
            ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure_atomic(fig, path, format='png', dpi=150)
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(
        description='AMR weight means (Table 3) and per-channel '
        'distributions (Figure 4) of a checkpoint')
    parser.add_argument('checkpoint', help='checkpoint file (.pth)')
    parser.add_argument(
        '--out-dir',
        default='.',
        help='folder for amr_weights.md and amr_weights.png')
    parser.add_argument('--title', default='', help='title of both outputs')
    parser.add_argument(
        '--no-figure', action='store_true', help='write the table only')
    return parser.parse_args()


def main():
    args = parse_args()
    weights = load(args.checkpoint)
    os.makedirs(args.out_dir, exist_ok=True)
    text = table_markdown(weights, args.title)
    figure = osp.join(args.out_dir, 'amr_weights.png')
    if not args.no_figure:
        try:
            plot_figure(weights, figure, args.title)
        except ImportError:
            print_log(
                'matplotlib is not installed: no figure written.',
                logger='current')
        else:
            text += ('\nPer-channel mean weights (the paper\'s Figure 4): '
                     '![AMR weights](amr_weights.png)\n')
    table = osp.join(args.out_dir, 'amr_weights.md')
    write_text_atomic(text, table)
    print_log(text, logger='current')


if __name__ == '__main__':
    main()
