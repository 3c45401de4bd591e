# Copyright (c) mmamr contributors. All rights reserved.
"""The quickstart: the paper's study in small, on the synthetic dataset.

1. generate the synthetic dataset in NTU RGB+D's raw format
   (``tools/data/synthetic/generate_synthetic.py``) and convert it with the
   NTU converter (``tools/data/ntu/convert_ntu.py``);
2. train the undefended two-stream model ("None",
   ``configs/c3d_hcn_synthetic.py``: StagedC3D + HCN);
3. fine-tune it with AMR training (``configs/amr_c3d_hcn_synthetic.py``:
   PGD-10 on both modalities, 3 AMRs, λ = 1);
4. evaluate both with the paper's attacks (FGSM, PGD-20, CW-30, ε = 8/255,
   on ✗R, ✗S and ✗RS) and print its Table 2 layout with Avg and RI (RI
   against None).

Every step runs the project's own tools (``tools/train.py`` in
``--train-procs`` processes as ``tools/dist_train.sh`` launches it,
``tools/test.py`` in ``--eval-procs`` processes as ``tools/dist_test.sh``
does; each command is echoed) and is resumable: rerunning skips what
finished. ``--rows`` adds the paper's other rows of Table 2 (Madry AT on
✗R, ✗S, ✗RS, trained with the same budget as AMR; MinSim, ExFMem,
MinSim+ExFMem; ``tools/benchmark_suite.sh`` runs them all);
``--autoattack`` evaluates every row a second time with APGD-CE and
AutoAttack, and the tables gain both. Results land in
``work_dirs/quickstart`` (``summary.json``, ``tables.md``, and one
directory per row with its logs, checkpoints and ``robustness.json``).
Run through ``bash tools/quickstart.sh``, which installs what it needs.
"""
import argparse
import json
import os.path as osp
import time
from pathlib import Path

import mmengine
from mmengine.logging import print_log

import mmamr  # noqa: F401  (applies mmamr.compat)
from mmamr.common import write_text_atomic
from mmamr.data_prep.ntu_converter import convert_ntu
from mmamr.data_prep.synthetic import (SKELETON_DIR, VIDEO_DIR,
                                       generate_synthetic)
from mmamr.study import (StudyRun, build_exfmem, evaluate, markdown_tables,
                         summary_numbers, table_rows, train)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The paper's evaluation (§4.2), tools/test.py's defaults: ε = 8/255 on
# both modalities, α = 2/255, PGD with 20 steps, CW by 30 PGD steps.
ATTACK_FLAGS = ['--attack', 'fgsm', 'pgd', 'cw']
# --autoattack: a second evaluation of every row, the parameter-free attacks
# of Croce & Hein 2020 (APGD-CE alone, then the standard AutoAttack
# cascade; 100 iterations, 5000 Square queries). Off by default: on 2 CPU
# cores it costs several times the rest (docs/results.md).
AUTOATTACK_FLAGS = ['--attack', 'apgd-ce', 'autoattack']
BASELINE = 'none'


def study_runs(finetune_epochs: int) -> dict:
    """The rows the quickstart can train, baseline first.

    The adversarially trained rows start from the undefended model and
    train ``finetune_epochs`` more epochs: the same budget for each, and
    what fits a CPU (a PGD-10 iteration costs about 10 standard ones).
    """
    finetune = [
        f'train_cfg.max_epochs={finetune_epochs}',
        f'param_scheduler.0.T_max={finetune_epochs}'
    ]
    rows = [
        StudyRun('none', 'None', 'configs/c3d_hcn_synthetic.py'),
        StudyRun('at_rgb', 'AT ✗R',
                 'configs/baselines/at_rgb_c3d_hcn_synthetic.py', finetune,
                 BASELINE),
        StudyRun('at_skeleton', 'AT ✗S',
                 'configs/baselines/at_skeleton_c3d_hcn_synthetic.py',
                 finetune, BASELINE),
        StudyRun('at_both', 'AT ✗RS',
                 'configs/baselines/at_both_c3d_hcn_synthetic.py', finetune,
                 BASELINE),
        StudyRun('minsim', 'MinSim',
                 'configs/defences/minsim_c3d_hcn_synthetic.py'),
        StudyRun(
            'exfmem',
            'ExFMem',
            'configs/defences/exfmem_c3d_hcn_synthetic.py',
            reuse=BASELINE,
            build_exfmem=True),
        StudyRun(
            'minsim_exfmem',
            'MinSim+ExFMem',
            'configs/defences/minsim_exfmem_c3d_hcn_synthetic.py',
            reuse='minsim',
            build_exfmem=True),
        StudyRun('amr', 'AMR', 'configs/amr_c3d_hcn_synthetic.py', finetune,
                 BASELINE),
    ]
    return {run.name: run for run in rows}


def row_order(runs: dict, rows: list) -> list:
    """The rows to run, in order: the baseline first, and each row after
    the row whose model it reuses (``--rows minsim_exfmem`` alone also
    runs MinSim, finished or not, for its checkpoint)."""
    names = [BASELINE]

    def add(name):
        if runs[name].reuse is not None:
            add(runs[name].reuse)
        if name not in names:
            names.append(name)

    for name in rows:
        add(name)
    return names


def parse_args():
    parser = argparse.ArgumentParser(description='mmamr quickstart')
    parser.add_argument(
        '--data-root',
        default=osp.join(ROOT, 'data', 'synthetic'),
        help='where the synthetic dataset is written')
    parser.add_argument(
        '--work-dir',
        default=osp.join(ROOT, 'work_dirs', 'quickstart'),
        help='where each row\'s checkpoints and logs, summary.json and '
        'tables.md go')
    parser.add_argument(
        '--rows',
        nargs='+',
        default=['none', 'amr'],
        choices=sorted(study_runs(1)),
        help='rows of the table to train and evaluate (None is always '
        'included: it is the RI baseline)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--finetune-epochs',
        type=int,
        default=4,
        help='epochs of adversarial fine-tuning of the AT and AMR rows '
        '(4 keeps the quickstart within 10 minutes on 2 cores; '
        'docs/results.md)')
    parser.add_argument(
        '--autoattack',
        action='store_true',
        help='also evaluate every row with APGD-CE and AutoAttack (into '
        '<row>/autoattack; the tables gain both). Slow on a CPU')
    parser.add_argument(
        '--workers', type=int, default=2, help='data loading processes')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads per tool (1 is fastest on a small CPU shared '
        'with the data workers, see docs/benchmarks.md; 0 keeps torch\'s '
        'default)')
    parser.add_argument(
        '--train-procs',
        type=int,
        default=2,
        help='processes that share each training, launched as '
        'tools/dist_train.sh does, with the config\'s batch split between '
        'them (same global batch; one per core)')
    parser.add_argument(
        '--eval-procs',
        type=int,
        default=2,
        help='processes that share each evaluation (tools/dist_test.sh\'s '
        'launch; the numbers do not depend on it, the time does: one per '
        'core)')
    parser.add_argument(
        '--num-per-class',
        type=int,
        default=100,
        help='synthetic samples per class (10 classes, 80%% for training)')
    return parser.parse_args()


def converted_already(ann_file: str, skeleton_dir: str) -> bool:
    """Whether ``ann_file`` holds exactly the samples of ``skeleton_dir``,
    i.e. an earlier run converted the raw data as it is now."""
    if not osp.isfile(ann_file):
        return False
    # Dot files are temporaries of an unfinished atomic write.
    names = {
        p.stem
        for p in Path(skeleton_dir).glob('*.skeleton')
        if not p.name.startswith('.')
    }
    annotations = mmengine.load(ann_file)['annotations']
    return {ann['frame_dir'] for ann in annotations} == names


def prepare_data(data_root: str, seed: int, workers: int,
                 num_per_class: int) -> str:
    """Generate (or reuse) the raw dataset and convert it (unless done);
    return the pkl."""
    try:
        generate_synthetic(
            data_root,
            seed=seed,
            num_per_class=num_per_class,
            workers=workers,
            progress=True)
    except FileExistsError as error:
        # A folder made with other options (or by an older version) is
        # never mixed with new samples; say what to do, without a trace.
        raise SystemExit(f'error: {error}\nDelete it, or give the '
                         'quickstart another --data-root.') from None
    ann_file = osp.join(data_root, 'synthetic_3d_rgb.pkl')
    skeleton_dir = osp.join(data_root, SKELETON_DIR)
    if converted_already(ann_file, skeleton_dir):
        print_log(f'{ann_file}: converted already', 'current')
        return ann_file
    # A pickle that does not match the raw data (an older dataset's, say)
    # is outdated: replace it.
    convert_ntu(
        skeleton_dir,
        ann_file,
        video_dir=osp.join(data_root, VIDEO_DIR),
        workers=workers,
        progress=True,
        overwrite=True)
    return ann_file


def data_options(loader: str, ann_file: str, video_root: str,
                 workers: int) -> list:
    """``--cfg-options`` pointing ``loader`` at the quickstart's data."""
    return [
        f'{loader}.dataset.ann_file={ann_file}',
        f'{loader}.dataset.data_prefix.video={video_root}',
        f'{loader}.num_workers={workers}',
        f'{loader}.persistent_workers={workers > 0}'
    ]


def main():
    args = parse_args()
    start = time.time()
    runs = study_runs(args.finetune_epochs)
    names = row_order(runs, args.rows)
    print_log(f'[1/{len(names) + 2}] Synthetic dataset in {args.data_root}',
              'current')
    ann_file = prepare_data(args.data_root, args.seed, args.workers,
                            args.num_per_class)
    # The loading processes of a training are shared by its processes.
    train_workers = max(1, args.workers // args.train_procs)
    data = dict(
        train=data_options('train_dataloader', ann_file,
                           osp.join(args.data_root, VIDEO_DIR), train_workers),
        test=data_options('test_dataloader', ann_file,
                          osp.join(args.data_root, VIDEO_DIR), args.workers))
    env = dict()
    if args.threads > 0:
        env = dict(
            OMP_NUM_THREADS=str(args.threads),
            MKL_NUM_THREADS=str(args.threads))
    checkpoints, results, autoattack, seconds = dict(), dict(), dict(), dict()
    for step, name in enumerate(names, start=2):
        run = runs[name]
        run_dir = osp.join(args.work_dir, name)
        print_log(f'[{step}/{len(names) + 2}] {run.label}', 'current')
        began = time.time()
        if run.reuse is None:
            checkpoints[name] = train(
                run,
                run_dir,
                ROOT,
                data['train'],
                args.seed,
                env,
                load_from=checkpoints.get(run.init_from),
                procs=args.train_procs)
        else:
            checkpoints[name] = checkpoints[run.reuse]
        evaluated = checkpoints[name]
        if run.build_exfmem:
            evaluated = build_exfmem(run, evaluated, run_dir, ROOT,
                                     data['train'], env)
        results[name] = evaluate(
            run,
            evaluated,
            run_dir,
            ROOT,
            data['test'],
            ATTACK_FLAGS,
            env,
            baseline=None if name == BASELINE else results[BASELINE],
            procs=args.eval_procs)
        if args.autoattack:
            autoattack[name] = evaluate(
                run,
                evaluated,
                run_dir,
                ROOT,
                data['test'],
                AUTOATTACK_FLAGS,
                env,
                baseline=None if name == BASELINE else autoattack[BASELINE],
                procs=args.eval_procs,
                stage='autoattack')
        seconds[name] = round(time.time() - began, 1)
    rows = table_rows([(runs[n].label, [results[n]] +
                        ([autoattack[n]] if autoattack else []))
                       for n in names], runs[BASELINE].label)
    tables = markdown_tables(rows, runs[BASELINE].label)
    summary = dict(
        rows={
            runs[n].label:
            dict(
                name=n,
                config=runs[n].config,
                checkpoint=checkpoints[n],
                robustness=results[n],
                autoattack=autoattack.get(n),
                seconds_this_invocation=seconds[n])
            for n in names
        },
        top1=summary_numbers(rows),
        finetune_epochs=args.finetune_epochs,
        seed=args.seed,
        seconds=round(time.time() - start, 1))
    write_text_atomic(tables, osp.join(args.work_dir, 'tables.md'))
    write_text_atomic(
        json.dumps(summary, indent=2, ensure_ascii=False) + '\n',
        osp.join(args.work_dir, 'summary.json'))
    print_log(
        f'[{len(names) + 2}/{len(names) + 2}] Robustness on the synthetic '
        f'test set (X-Sub, {rows[0][1]["num_samples"]} clips), '
        f'{summary["seconds"]:.0f} s in all:\n\n{tables}\n'
        f'Written to {args.work_dir}/tables.md and summary.json.', 'current')


if __name__ == '__main__':
    main()
