# Copyright (c) mmamr contributors. All rights reserved.
"""docs/experiments.md reproduces the paper: every row of Tables 1, 2 and
4-8 has a config that builds its model and carries the paper's settings
(S, λ, training attack, schedule, batch 16), a train command that writes
the checkpoint its test command reads, and a test command that runs its
table's attack with the None row of the same attack as RI baseline."""
import argparse
import functools
import importlib.util
import json
import pickle
import re
import shlex
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmaction.registry import DATASETS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

import mmamr  # noqa: F401  (registers the plugin)
from mmamr.models.recognizers.adversarial_training import (attack_generator,
                                                           training_objective)
from mmamr.utils.robust_test_args import (add_robust_args, attack_configs,
                                          check_robust_args)
from mmamr.utils.run_specs import parse_run_spec

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / 'docs' / 'experiments.md'
TOTAL_BATCH = 16
TARGETS = ['rgb', 'skeleton', 'both']


class Row(NamedTuple):
    table: int
    dataset: str
    label: str
    config: str
    train: str
    test: str

    @property
    def paper_label(self) -> str:
        """The row's name in the paper (``Extra: `` rows: the name of the
        experiment they repeat beyond the paper)."""
        return self.label.replace('Extra: ', '', 1)

    def __str__(self) -> str:
        return f'Table {self.table}, {self.dataset}, {self.label!r}'


def parse_doc(text: str):
    """Rows, tabulate commands (per table) and aliases of the doc."""
    rows, tabulate, aliases = [], dict(), []
    table = section = None
    for line in text.splitlines():
        if line.startswith('## '):
            match = re.match(r'## Table (\d+): ', line)
            table = int(match.group(1)) if match else None
            section = line[3:]
            if table is not None:
                tabulate[table] = []
            continue
        stripped = line.strip()
        if stripped.startswith('python tools/analysis/robustness_table.py'):
            assert table is not None, f'tabulate outside a table: {line}'
            tabulate[table].append(stripped)
        if not stripped.startswith('|') or set(stripped) <= set('|- '):
            continue
        cells = [c.strip().strip('`') for c in stripped.strip('|').split('|')]
        if cells[0] in ('Dataset', 'alias'):
            continue
        if table is not None:
            rows.append(Row(table, *cells))
        elif section == 'Beyond the paper':
            aliases.append(tuple(cells))
    return rows, tabulate, aliases


ROWS, TABULATE, ALIASES = parse_doc(DOC.read_text(encoding='utf-8'))

# What the paper's tables list, per dataset, in the paper's order.
TABLE1 = [
    'None (FGSM)', 'None (PGD10)', 'None (CW)', 'Unimodal ✓R', 'Unimodal ✓S'
]
DEFENCES = [
    'None', 'AT with ✗R', 'AT with ✗S', 'AT with ✗RS', 'MinSim', 'ExFMem',
    'MinSim+ExFMem', 'AMR'
]
NUM_AMRS = ['None', 'AT with ✗RS (0 AMR)', '1 AMR', '2 AMRs', '3 AMRs']
LAMBDAS = ['None'] + [f'λ = {v}' for v in ('0.1', '0.5', '1', '2', '5')]
PAPER_ROWS = {
    1: dict(NTU=TABLE1, iMiGUE=TABLE1),
    2: dict(NTU=DEFENCES, iMiGUE=DEFENCES),
    4: dict(NTU=NUM_AMRS, iMiGUE=NUM_AMRS),
    5: dict(iMiGUE=LAMBDAS),  # "on iMiGUE with 1 AMR"
    6: dict(NTU=DEFENCES, iMiGUE=DEFENCES),
    7: dict(NTU=DEFENCES, iMiGUE=DEFENCES),
    8: dict(NTU=NUM_AMRS, iMiGUE=NUM_AMRS),
}
# §4.1-4.2: epochs, classes, the data; S of "AMR" (3 on NTU, 1 on iMiGUE).
DATASETS_ = dict(
    NTU=dict(
        name='ntu',
        epochs=80,
        classes=60,
        skeleton_channels=3,
        ann_file='data/ntu60/ntu60_3d_rgb.pkl',
        splits=('xsub_train', 'xsub_val'),
        num_amrs=3),
    iMiGUE=dict(
        name='imigue',
        epochs=40,
        classes=32,
        skeleton_channels=2,
        ann_file='data/imigue/imigue_2d_rgb.pkl',
        splits=('xsub_train', 'xsub_test'),
        num_amrs=1))


def budget(value: float) -> dict:
    return dict(rgb=value / 255, skeleton=value / 255)


def fgsm(eps: float) -> dict:
    return dict(type='FGSM', eps=budget(eps))


def iterative(kind: str, steps: int, eps: float) -> dict:
    return dict(
        type=kind,
        eps=budget(eps),
        steps=steps,
        alpha=budget(2),
        random_start=True)


# The evaluation attacks (§4.2 and the captions): PGD20, FGSM and CW by
# PGD30 at ε = 8/255, α = 2/255; Table 1 at ε = 6/255 with PGD10 (its α
# and CW steps are not given: the paper's 2/255 and 30 of §4.2).
TABLE_ATTACK = {
    2: iterative('PGD', 20, 8),
    4: iterative('CW', 30, 8),
    5: iterative('PGD', 20, 8),
    6: fgsm(8),
    7: iterative('CW', 30, 8),
    8: iterative('PGD', 20, 8),
}
TABLE1_ATTACK = {
    'None (FGSM)': fgsm(6),
    'None (PGD10)': iterative('PGD', 10, 6),
    'None (CW)': iterative('CW', 30, 6),
    'Unimodal ✓R': None,  # clean accuracy only
    'Unimodal ✓S': None,
}


class Expected(NamedTuple):
    """What a row's model is: its branches, training objective
    ``(mode, attacked modalities, S, λ)`` (None: standard training) and
    Tian & Xu defences."""
    branches: tuple = ('rgb', 'skeleton')
    objective: Optional[tuple] = None
    minsim: bool = False
    exfmem: bool = False


def expected(label: str, dataset: str) -> Expected:
    """The paper's description of a row (§4.4, §4.6)."""
    fixed = {
        'Unimodal ✓R':
        Expected(branches=('rgb', )),
        'Unimodal ✓S':
        Expected(branches=('skeleton', )),
        'AT with ✗R':
        Expected(objective=('madry', 'rgb', 0, 1.0)),
        'AT with ✗S':
        Expected(objective=('madry', 'skeleton', 0, 1.0)),
        'AT with ✗RS':
        Expected(objective=('madry', 'both', 0, 1.0)),
        'AT with ✗RS (0 AMR)':
        Expected(objective=('madry', 'both', 0, 1.0)),
        'MinSim':
        Expected(minsim=True),
        'ExFMem':
        Expected(exfmem=True),
        'MinSim+ExFMem':
        Expected(minsim=True, exfmem=True),
        'AMR':
        Expected(
            objective=('amr', 'both', DATASETS_[dataset]['num_amrs'], 1.0)),
        # Ours: Eq. 12 with no modules.
        'AMR loss, S = 0':
        Expected(objective=('amr', 'both', 0, 1.0)),
    }
    if label in fixed:
        return fixed[label]
    if label == 'None' or label.startswith('None ('):
        return Expected()
    match = re.fullmatch(r'(\d) AMRs?', label)
    if match:
        return Expected(objective=('amr', 'both', int(match.group(1)), 1.0))
    match = re.fullmatch(r'λ = ([\d.]+)', label)
    if match:  # Table 5: 1 AMR
        return Expected(objective=('amr', 'both', 1, float(match.group(1))))
    raise AssertionError(f'docs/experiments.md: unknown row {label!r}')


def stem(config: str) -> str:
    return Path(config).stem


@functools.lru_cache(maxsize=None)
def load(config: str) -> Config:
    path = ROOT / config
    assert path.is_file(), f'{config} does not exist'
    return Config.fromfile(str(path))


@functools.lru_cache(maxsize=None)
def build(model_json: str):
    """One model per architecture (the objective aside)."""
    init_default_scope('mmaction')
    return MODELS.build(json.loads(model_json))


def architecture(cfg: Config, full_size: bool = False) -> str:
    """The model config without its objective; unless ``full_size``, with
    a thin I3D (1/8 of the channels): the structure, AMR placement and
    input shapes are unchanged, and sizing AMRs at 32 x 224² takes a
    second instead of several."""
    model = cfg.model.to_dict()
    model.pop('train_cfg', None)
    rgb = model.get('rgb_backbone')
    if not full_size and rgb and rgb['type'] == 'InceptionI3D':
        rgb['width_multiplier'] = 0.125
    return json.dumps(model, sort_keys=True)


class Training(NamedTuple):
    config: str  # the config trained
    gpus: int
    checkpoint: str  # what the test reads


def parse_train(row: Row) -> Training:
    commands = [shlex.split(c) for c in row.train.split(' && ')]
    first = commands[0]
    assert first[:2] == ['bash', 'tools/dist_train.sh'] and len(first) == 4, (
        f'{row}: train command {row.train!r}')
    trained, gpus = first[2], int(first[3])
    epochs = load(trained).train_cfg.max_epochs
    checkpoint = f'work_dirs/{stem(trained)}/epoch_{epochs}.pth'
    if len(commands) == 2:  # ExFMem: dictionaries from the trained model
        build_cmd = commands[1]
        assert build_cmd[:2] == ['python', 'tools/build_exfmem.py'], row
        config, source, flag, out = build_cmd[2:]
        assert (config, source, flag) == (row.config, checkpoint, '--out')
        checkpoint = out
    else:
        assert len(commands) == 1, row
    return Training(trained, gpus, checkpoint)


def robust_test_parser() -> argparse.ArgumentParser:
    """``tools/test.py``'s robustness flags and its ``--work-dir``."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument('--work-dir', required=True)
    add_robust_args(parser)
    return parser


class Evaluation(NamedTuple):
    config: str
    checkpoint: str
    work_dir: str
    attack: Optional[dict]  # the one attack it runs (None: clean only)
    targets: Optional[List[str]]
    baseline: Optional[str]


def parse_test(row: Row) -> Evaluation:
    argv = shlex.split(row.test)
    assert argv[:2] == ['bash', 'tools/dist_test.sh'], row
    config, checkpoint, procs = argv[2:5]
    assert int(procs) >= 1
    args = robust_test_parser().parse_args(argv[5:])
    baseline, args.baseline = args.baseline, None  # not there yet
    check_robust_args(args)
    attack = None
    if args.attack:
        (attack, ) = attack_configs(args)
        attack.pop('name')
    return Evaluation(config, checkpoint, args.work_dir, attack, args.targets,
                      baseline)


def test_every_row_of_the_paper_is_there():
    for table, datasets in PAPER_ROWS.items():
        for dataset in DATASETS_:
            labels = [
                r.label for r in ROWS if (r.table, r.dataset) == (
                    table, dataset) and not r.label.startswith('Extra: ')
            ]
            assert labels == datasets.get(dataset, []), (table, dataset)
    assert {r.table for r in ROWS} == set(PAPER_ROWS)


def test_the_extras_beyond_the_paper():
    """The S = 0 control on both datasets next to Tables 4 and 8, and the
    λ sweep on NTU (with its None), labelled as extras."""
    extras = {(r.table, r.dataset, r.label)
              for r in ROWS if 'Extra' in r.label}
    expected_extras = {(t, d, 'Extra: AMR loss, S = 0')
                       for t in (4, 8)
                       for d in DATASETS_}
    expected_extras |= {(5, 'NTU', f'Extra: {label}') for label in LAMBDAS}
    assert extras == expected_extras
    # The AMR-count and λ files that repeat a row's experiment.
    assert len(ALIASES) == 6


@pytest.mark.parametrize('row', ROWS, ids=str)
def test_row_config_carries_the_papers_settings(row):
    data = DATASETS_[row.dataset]
    assert row.config.startswith('configs/')
    assert data['name'] in stem(row.config).split('_'), row
    cfg = load(row.config)
    want = expected(row.paper_label, row.dataset)

    # The data: annotations, splits and classes of the dataset, the
    # modalities of the model.
    for loader, split in zip(('train_dataloader', 'test_dataloader'),
                             data['splits']):
        dataset = cfg[loader].dataset
        assert (dataset.ann_file, dataset.split) == (data['ann_file'], split)
        modality = dataset.get('modality', 'both')
        assert modality == ('both'
                            if len(want.branches) == 2 else want.branches[0])
    assert cfg.model.cls_head.num_classes == data['classes']

    # The schedule (§4.2): SGD lr 0.01, momentum 0.9, wd 5e-4, cosine
    # over 80 / 40 epochs, 16 clips per step in total.
    epochs = data['epochs']
    assert cfg.train_cfg.max_epochs == epochs
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
    (scheduler, ) = cfg.param_scheduler
    assert (scheduler.type, scheduler.T_max, scheduler.eta_min,
            scheduler.by_epoch) == ('CosineAnnealingLR', epochs, 0, True)
    assert cfg.auto_scale_lr.base_batch_size == TOTAL_BATCH
    train = parse_train(row)
    assert cfg.train_dataloader.batch_size * train.gpus == TOTAL_BATCH

    # The model builds and is what the row says.
    model = build(architecture(cfg))
    assert tuple(sorted(model.modalities)) == tuple(sorted(want.branches))
    if 'skeleton' in want.branches:
        assert cfg.model.skeleton_backbone.in_channels == data[
            'skeleton_channels']
    assert (model.minsim is not None) == want.minsim
    assert (model.feature_defence is not None) == want.exfmem
    assert model.feature_defence is None or (model.feature_defence.num_atoms
                                             == 1024)

    # The training objective, as the recognizer builds it from its own
    # train_cfg: PGD-10, random start, ε 8/255, α 2/255 (§4.2).
    objective = training_objective(cfg.model.get('train_cfg'))
    if want.objective is None:
        assert objective is None
        assert len(model.between_stages) == 0
        return
    mode, targets, num_amrs, lam = want.objective
    assert (objective.mode, objective.lam) == (mode, lam)
    objective.check_model(model)
    assert cfg.model.train_cfg.attack == dict(
        type='PGD',
        eps=budget(8),
        alpha=budget(2),
        steps=10,
        random_start=True,
        targets=targets)
    attack = objective.attack
    assert type(attack).__name__ == 'PGD'
    assert (attack.targets, attack.steps, attack.random_start) == (targets, 10,
                                                                   True)
    attacked = ('rgb', 'skeleton') if targets == 'both' else (targets, )
    assert attack.eps == {m: 8 / 255 for m in attacked}
    assert attack.alpha == {m: 2 / 255 for m in attacked}
    assert len(model.between_stages) == num_amrs
    if num_amrs:
        assert dict(type='AMRWeightsHook') in cfg.custom_hooks


@pytest.mark.parametrize('row', ROWS, ids=str)
def test_row_commands_train_and_attack_as_the_table(row):
    train, test = parse_train(row), parse_test(row)
    # The test reads what the train command writes.
    assert test.config == row.config
    assert test.checkpoint == train.checkpoint
    hook = load(train.config).default_hooks.checkpoint
    assert hook.get(
        'by_epoch',
        True), (f'{train.config} saves checkpoints by iteration: '
                f'{train.checkpoint} in docs/experiments.md would not exist')
    if train.config != row.config:
        # ExFMem trains nothing: the trained model is the row's without
        # the memory, with the same schedule and data.
        cfg, trained = load(row.config), load(train.config)
        model = cfg.model.to_dict()
        assert model.pop('feature_defence')['type'] == 'ExFMem'
        assert model == trained.model.to_dict()
        for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                    'train_dataloader'):
            assert cfg[key] == trained[key], key
    assert test.work_dir.startswith(f'work_dirs/{stem(row.config)}/')

    # The table's attack on every modality, RI against None.
    if row.table == 1:
        want = TABLE1_ATTACK[row.label]
    else:
        want = TABLE_ATTACK[row.table]
    assert test.attack == want
    if want is None:
        assert test.targets is None and test.baseline is None
        return
    assert test.targets == TARGETS
    if row.table == 1 or row.paper_label == 'None':
        assert test.baseline is None  # Table 1 has no RI
        return
    (none, ) = [
        r for r in ROWS if (r.table, r.dataset,
                            r.paper_label) == (row.table, row.dataset, 'None')
    ]
    none_test = parse_test(none)
    assert none_test.attack == want
    assert test.baseline == f'{none_test.work_dir}/robustness.json'


def test_runs_have_their_own_places():
    """A work dir is one test run (rows sharing one run the same command);
    configs have distinct names, so their work dirs differ."""
    by_work_dir: Dict[str, str] = dict()
    for row in ROWS:
        work_dir = parse_test(row).work_dir
        assert by_work_dir.setdefault(work_dir, row.test) == row.test, row
    configs = {r.config for r in ROWS}
    assert len({stem(c) for c in configs}) == len(configs)


def robustness_table_args(argv: List[str]) -> argparse.Namespace:
    path = ROOT / 'tools' / 'analysis' / 'robustness_table.py'
    spec = importlib.util.spec_from_file_location('robustness_table', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args(argv)


@pytest.mark.parametrize('table', sorted(set(PAPER_ROWS) - {1}))
def test_tabulate_commands_put_each_table_together(table):
    """One robustness_table.py command per dataset: the test results of
    its rows, in order, for the table's attack, RI against None."""
    commands = TABULATE[table]
    datasets = [
        d for d in DATASETS_
        if any((r.table, r.dataset) == (table, d) for r in ROWS)
    ]
    assert len(commands) == len(datasets)
    for command in commands:
        argv = shlex.split(command)
        args = robustness_table_args(argv[2:])
        runs = [parse_run_spec(spec, 'robustness.json') for spec in args.runs]
        dataset = next(
            d for d in datasets
            if args.out.endswith(f'table{table}_{d.lower()}'))
        rows = [r for r in ROWS if (r.table, r.dataset) == (table, dataset)]
        # A run is its work dir or the robustness.json in it.
        assert [path.removesuffix('/robustness.json')
                for _, path in runs] == [parse_test(r).work_dir for r in rows]
        names = [name for name, _ in runs]
        assert len(set(names)) == len(names)
        assert args.baseline == names[0] == 'None'
        assert rows[0].paper_label == 'None'
        want = TABLE_ATTACK[table]
        name = want['type'] + str(want.get('steps', ''))
        assert args.attack == name


@pytest.mark.parametrize('alias,same', ALIASES)
def test_aliases_are_the_same_experiment(alias, same):
    assert load(alias).to_dict() == load(same).to_dict()


@pytest.mark.slow
def test_every_model_builds_at_full_size():
    """The rows' models with the real I3D (the walk above uses a thin
    one): about 3-8 s for each of the six AMR models on a CPU."""
    for arch in sorted({architecture(load(r.config), True) for r in ROWS}):
        model = build(arch)
        rgb = json.loads(arch).get('rgb_backbone')
        if rgb and rgb['type'] == 'InceptionI3D':
            assert model.branches['rgb'].feat_dim == 1024


# The S = 0 control: Eq. 12 with no modules is clean CE + λ adversarial CE.


def test_amr_loss_without_modules_is_clean_plus_adversarial_ce():
    """configs/ablations/amr_loss_s0_*: its objective as configured
    (PGD-10 on both modalities, λ = 1), on a thin model; no aux term."""
    cfg = load('configs/ablations/amr_loss_s0_i3d_hcn_ntu.py')
    model_cfg = cfg.model.to_dict()
    model_cfg['rgb_backbone'].update(width_multiplier=0.125)
    model_cfg['skeleton_backbone'].update(dropout=0.)
    model_cfg['cls_head'].update(dropout_ratio=0.)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.train()
    assert not model.between_stages
    gen = torch.Generator().manual_seed(1)
    inputs = dict(
        rgb=torch.rand(2, 1, 3, 8, 32, 32, generator=gen),
        skeleton=torch.rand(2, 1, 2, 32, 25, 3, generator=gen))
    labels = torch.tensor([3, 17])
    samples = [ActionDataSample().set_gt_label(int(y)) for y in labels]
    # The reference attack first (eval mode, running statistics), from
    # the random start the loss will draw.
    torch.manual_seed(2)
    adv = model.adversarial_training.attack(
        model, inputs, labels, generator=attack_generator(labels.device))
    torch.manual_seed(2)
    losses = model(inputs, samples, mode='loss')
    assert sorted(k for k in losses
                  if 'loss' in k) == ['loss_adv', 'loss_clean']
    assert not torch.equal(adv['rgb'], inputs['rgb'])

    def ce(x):
        feats, batch, views = model.branch_features(x)
        return F.cross_entropy(model.fused_logits(feats, batch, views), labels)

    total, _ = model.parse_losses(losses)
    torch.testing.assert_close(total, ce(inputs) + 1.0 * ce(adv))


# The new unimodal iMiGUE configs on data in the converter's format.


@pytest.fixture(scope='module')
def imigue_data(tmp_path_factory):
    """Two clips as tools/data/imigue/convert_imigue.py writes them: clip
    videos of short side 256 and BODY_25 pixels of that size, undetected
    joints 0."""
    root = tmp_path_factory.mktemp('imigue')
    (root / 'clips').mkdir()
    rng = np.random.default_rng(0)
    height, width, frames = 256, 456, 40
    annotations = []
    for i, name in enumerate(('0001_0001', '0001_0002')):
        writer = cv2.VideoWriter(
            str(root / 'clips' / f'{name}.mp4'),
            cv2.VideoWriter_fourcc(*'mp4v'), 25, (width, height))
        for _ in range(frames):
            writer.write(rng.integers(0, 256, (height, width, 3), np.uint8))
        writer.release()
        keypoint = rng.uniform(0, 1, (1, frames, 25, 2)) * [width, height]
        keypoint[:, :, 9:] = 0  # legs undetected
        annotations.append(
            dict(
                frame_dir=name,
                label=i,
                total_frames=frames,
                keypoint=keypoint.astype(np.float32),
                keypoint_score=np.ones((1, frames, 25), np.float32),
                img_shape=(height, width),
                original_shape=(720, 1280),
                video=f'{name}.mp4'))
    names = [a['frame_dir'] for a in annotations]
    ann_file = root / 'imigue_2d_rgb.pkl'
    with open(ann_file, 'wb') as f:
        pickle.dump(
            dict(
                split=dict(xsub_train=names, xsub_test=names),
                annotations=annotations), f)
    return dict(ann_file=str(ann_file), video=str(root / 'clips'))


@pytest.mark.parametrize('config,modality', [
    ('configs/i3d_imigue_rgb.py', 'rgb'),
    ('configs/hcn_imigue_skeleton.py', 'skeleton'),
])
def test_unimodal_imigue_configs_classify_a_converted_clip(
        imigue_data, config, modality):
    """Table 1's iMiGUE unimodal models: their test pipeline gives one
    modality at the paper's clip size, and their model classifies it."""
    cfg = load(config)
    init_default_scope('mmaction')
    dataset = DATASETS.build(
        dict(
            cfg.test_dataloader.dataset.to_dict(),
            ann_file=imigue_data['ann_file'],
            data_prefix=dict(video=imigue_data['video'])))
    item = dataset[0]
    assert list(item['inputs']) == [modality]
    tensor = item['inputs'][modality]
    if modality == 'rgb':
        assert tensor.shape == (1, 3, 32, 224, 224)
    else:
        # The frame's pixels mapped to [0, 1] with the annotation's
        # img_shape; undetected joints stay 0.
        assert tensor.shape == (1, 1, 32, 25, 2)
        assert tensor[..., 9:, :].abs().max() == 0
        assert tensor.min() >= 0 and tensor.max() <= 1
        ann = dataset.get_data_info(0)
        pixels = ann['keypoint'][0] / np.array([456, 256], np.float32)
        for t in range(32):
            got = tensor[0, 0, t].numpy()
            assert np.abs(pixels - got).max(axis=(1, 2)).min() < 1e-6
    model = build(architecture(cfg)).eval()
    batch = model.data_preprocessor(pseudo_collate([item]))
    with torch.no_grad():
        logits = model(**batch, mode='tensor')
    assert logits.shape == (1, 32) and torch.isfinite(logits).all()
