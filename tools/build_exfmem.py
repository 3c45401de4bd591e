# Copyright (c) mmamr contributors. All rights reserved.
"""Build ExFMem's feature dictionaries from a trained checkpoint.

ExFMem (Tian & Xu, CVPR 2021) denoises each branch feature with a fixed
dictionary of training-set features of that branch. This tool makes the
dictionaries after training and writes a new checkpoint that holds them
(as the buffers ``feature_defence.atoms_<modality>``), ready for
``tools/test.py``::

    python tools/build_exfmem.py configs/defences/exfmem_i3d_hcn_ntu.py \\
        work_dirs/i3d_hcn_ntu/epoch_80.pth \\
        --out work_dirs/exfmem_i3d_hcn_ntu/exfmem.pth
    python tools/test.py configs/defences/exfmem_i3d_hcn_ntu.py \\
        work_dirs/exfmem_i3d_hcn_ntu/exfmem.pth --attack pgd ...

The config must have ``model.feature_defence=dict(type='ExFMem', ...)``;
the checkpoint is the trained model (ExFMem does not change training, so
the ExFMem row reuses the undefended model's checkpoint and MinSim+ExFMem
the MinSim model's).

Atoms: ``num_atoms`` (the config's, 1024 by default, or ``--num-atoms``)
clips are drawn uniformly without replacement from the *training* split
with a fixed seed (``--seed``), read with the config's *test* pipeline
(no augmentation), and their raw branch features (before any defence)
are computed in eval mode, i.e. exactly the features clean test clips
get. With several views per clip, ``num_atoms`` of the drawn clips'
view features are kept, again drawn with the seed. The reference keeps
the first 1024 stored features instead; a random subset does not depend
on the order of the annotation file (often sorted by class).
"""
import argparse
import copy
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmaction.registry import DATASETS, MODELS
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

import mmamr  # noqa: F401  (registers the plugin, applies compat)
from mmamr.common import atomic_output
from mmamr.engine.hooks.checkpoint_keys_hook import load_checked_checkpoint


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Build ExFMem dictionaries from training features and '
        'save them with the checkpoint')
    parser.add_argument(
        'config', help='config with an ExFMem '
        'model.feature_defence')
    parser.add_argument('checkpoint', help='the trained checkpoint')
    parser.add_argument(
        '--out',
        help='the new checkpoint (default: <checkpoint>_exfmem.pth beside '
        'the checkpoint)')
    parser.add_argument(
        '--num-atoms',
        type=int,
        help='atoms per dictionary (default: the config\'s num_atoms)')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the atom draw')
    parser.add_argument(
        '--batch-size', type=int, default=8, help='clips per forward')
    parser.add_argument(
        '--num-workers', type=int, default=2, help='data loading workers')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the forward passes (default: cuda if available)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, xxx=yyy format')
    return parser.parse_args(argv)


def exfmem_config(cfg: Config, num_atoms: Optional[int]) -> Config:
    """Check that the model has ExFMem; apply ``--num-atoms``."""
    defence = cfg.model.get('feature_defence')
    if not defence or defence.get('type') != 'ExFMem':
        raise ValueError(f'{cfg.filename}: model.feature_defence is '
                         f'{defence!r}; build_exfmem needs '
                         "model.feature_defence=dict(type='ExFMem', ...) (see "
                         'configs/defences/exfmem_*.py).')
    if num_atoms is not None:
        if num_atoms < 1:
            raise ValueError(f'--num-atoms {num_atoms}: must be >= 1.')
        defence.num_atoms = num_atoms
    defence.setdefault('num_atoms', 1024)
    return cfg


def training_set(cfg: Config):
    """The training split, read with the test pipeline."""
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    return DATASETS.build(dataset_cfg)


@torch.no_grad()
def collect_atoms(model, dataset, num_atoms: int, seed: int, batch_size: int,
                  num_workers: int, device: str) -> Dict[str, torch.Tensor]:
    """Raw branch features of randomly drawn training clips.

    Returns:
        dict: Modality -> ``[D_m, num_atoms]`` (features as columns).
    """
    rng = np.random.default_rng(seed)
    count = min(num_atoms, len(dataset))
    chosen = sorted(rng.choice(len(dataset), size=count, replace=False))
    loader = DataLoader(
        torch.utils.data.Subset(dataset, [int(i) for i in chosen]),
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=pseudo_collate)
    feats: Dict[str, List[torch.Tensor]] = dict()
    for step, batch in enumerate(loader):
        data = model.data_preprocessor(batch, False)
        out, _, _ = model.branch_features(data['inputs'], defend=False)
        for m, f in out.items():
            feats.setdefault(m, []).append(f.float().cpu())
        print_log(
            f'Features of {min((step + 1) * batch_size, count)}/{count} '
            'clips', 'current')
    feats = {m: torch.cat(f) for m, f in feats.items()}
    total = next(iter(feats.values())).shape[0]
    if total < num_atoms:
        raise ValueError(
            f'The training set gives {total} features ({len(dataset)} '
            f'clips), fewer than num_atoms={num_atoms}; use --num-atoms '
            f'{total} or less.')
    keep = torch.as_tensor(
        np.sort(rng.choice(total, size=num_atoms, replace=False)))
    return {m: f[keep].t().contiguous() for m, f in feats.items()}


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg = exfmem_config(cfg, args.num_atoms)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    # Refuses a checkpoint that fits none of the model's weights.
    checkpoint = load_checked_checkpoint(model, args.checkpoint)
    model.to(args.device).eval()
    defence = model.feature_defence
    num_atoms = defence.num_atoms
    atoms = collect_atoms(model, training_set(cfg), num_atoms, args.seed,
                          args.batch_size, args.num_workers, args.device)
    defence.set_dictionaries(atoms)

    state = checkpoint.get('state_dict', checkpoint)
    for key, value in model.state_dict().items():
        if key.startswith('feature_defence.'):
            state[key] = value.cpu()
    if 'state_dict' in checkpoint:
        meta = checkpoint.setdefault('meta', dict())
        meta['exfmem'] = dict(
            source=args.checkpoint,
            config=args.config,
            num_atoms=num_atoms,
            seed=args.seed,
            lipschitz={
                m: float(getattr(defence, f'lipschitz_{m}'))
                for m in defence.modalities
            })
    out = args.out or osp.splitext(args.checkpoint)[0] + '_exfmem.pth'
    with atomic_output(out) as tmp:
        torch.save(checkpoint, tmp)
    print_log(
        f'ExFMem dictionaries ({num_atoms} atoms: ' +
        ', '.join(f'{m} {tuple(a.shape)}' for m, a in atoms.items()) +
        f') written with the model to {out}', 'current')
    return out


if __name__ == '__main__':
    main()
