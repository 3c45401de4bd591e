# Copyright (c) mmamr contributors. All rights reserved.
"""A study run redoes nothing that finished, and only that."""
import os.path as osp

import pytest

import mmamr.study.study_run as study_run
from mmamr.study import StudyRun

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def fake_tool(calls):

    def run_tool(args, log_file, root, env=None):
        calls.append([str(a) for a in args])
        work = args[args.index('--work-dir') + 1]
        if 'tools/train.py' in args:
            ckpt = f'{work}/epoch_1.pth'
            open(ckpt, 'w').close()
            with open(f'{work}/last_checkpoint', 'w') as f:
                f.write(ckpt)
        else:
            import os
            os.makedirs(work, exist_ok=True)
            open(f'{work}/robustness.json', 'w').close()

    return run_tool


RUN = StudyRun(
    'amr',
    'AMR',
    'configs/amr.py', ['train_cfg.max_epochs=2'],
    init_from='none')


def test_train_then_skip_then_retrain_when_checkpoint_deleted(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    run_dir = str(tmp_path / 'amr')
    (tmp_path / 'amr').mkdir()
    args = (RUN, run_dir, '/repo', ['a=1'], 0, {})
    ckpt = study_run.train(*args, load_from='none.pth')
    assert ckpt == f'{run_dir}/epoch_1.pth'
    options = calls[0][calls[0].index('--cfg-options') + 1:]
    assert options == ['a=1', 'train_cfg.max_epochs=2', 'load_from=none.pth']
    assert '--resume' not in calls[0]
    assert study_run.train(*args) == ckpt
    assert len(calls) == 1
    # The marker's checkpoint is gone: train again, resuming the work dir.
    (tmp_path / 'amr' / 'epoch_1.pth').unlink()
    study_run.train(*args)
    assert len(calls) == 2 and '--resume' in calls[1]


def test_interrupted_training_resumes(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    (tmp_path / 'last_checkpoint').write_text('epoch_1.pth')
    study_run.train(RUN, str(tmp_path), '/repo', [], 0, {})
    assert '--resume' in calls[0]


def test_train_in_two_processes_launches_like_dist_train(
        tmp_path, monkeypatch):
    """The global batch stays the config's (16): 8 per process."""
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    run = StudyRun('none', 'None', 'configs/c3d_hcn_synthetic.py')
    study_run.train(run, str(tmp_path), ROOT, ['a=1'], 0, {}, procs=2)
    args = calls[0]
    assert args[:3] == ['-m', 'torch.distributed.run', '--nproc_per_node=2']
    tool = args.index('tools/train.py')
    assert args[tool + 1:tool + 4] == [
        '--launcher', 'pytorch', 'configs/c3d_hcn_synthetic.py'
    ]
    options = args[args.index('--cfg-options') + 1:]
    assert options == ['a=1', 'train_dataloader.batch_size=8']


def test_train_refuses_a_batch_that_does_not_split(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    run = StudyRun('none', 'None', 'configs/c3d_hcn_synthetic.py')
    with pytest.raises(ValueError, match=r'c3d_hcn_synthetic.py.*16.*3'):
        study_run.train(run, str(tmp_path), ROOT, [], 0, {}, procs=3)
    assert calls == []


def test_evaluate_passes_baseline_and_skips_when_done(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    args = (RUN, 'ckpt.pth', str(tmp_path), '/repo', ['a=1'],
            ['--attack', 'fgsm'], {})
    out = study_run.evaluate(*args, baseline='none/robustness.json')
    assert out == f'{tmp_path}/robustness/robustness.json'
    assert calls[0][:3] == ['tools/test.py', 'configs/amr.py', 'ckpt.pth']
    assert calls[0][calls[0].index('--baseline') + 1] == \
        'none/robustness.json'
    assert study_run.evaluate(*args) == out
    assert len(calls) == 1


def test_a_second_evaluation_stage_is_resumable_on_its_own(
        tmp_path, monkeypatch):
    """The quickstart's --autoattack: the same run evaluated again under
    other attacks, into its own folder with its own marker."""
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    args = (RUN, 'ckpt.pth', str(tmp_path), '/repo', ['a=1'])
    main = study_run.evaluate(*args, ['--attack', 'fgsm'], {})
    extra = study_run.evaluate(
        *args, ['--attack', 'apgd-ce', 'autoattack'], {}, stage='autoattack')
    assert extra == f'{tmp_path}/autoattack/robustness.json' != main
    assert calls[1][calls[1].index('--attack') +
                    1:][:2] == ['apgd-ce', 'autoattack']
    assert osp.isfile(tmp_path / 'autoattack.done')
    # Both done: neither runs again.
    assert study_run.evaluate(
        *args, ['--attack', 'apgd-ce', 'autoattack'], {},
        stage='autoattack') == extra
    assert study_run.evaluate(*args, ['--attack', 'fgsm'], {}) == main
    assert len(calls) == 2


def test_evaluate_in_two_processes_launches_like_dist_test(
        tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(study_run, 'run_tool', fake_tool(calls))
    study_run.evaluate(
        RUN,
        'ckpt.pth',
        str(tmp_path),
        '/repo', ['a=1'], ['--attack', 'fgsm'], {},
        procs=2)
    args = calls[0]
    assert args[:3] == ['-m', 'torch.distributed.run', '--nproc_per_node=2']
    tool = args.index('tools/test.py')
    assert args[tool + 1:tool + 3] == ['--launcher', 'pytorch']
    assert args[tool + 3:tool + 5] == ['configs/amr.py', 'ckpt.pth']
    port = int(
        next(a for a in args if a.startswith('--master_port=')).split('=')[1])
    assert 0 < port < 65536


def test_exfmem_dictionaries_built_once_into_the_run_dir(
        tmp_path, monkeypatch):
    calls = []

    def run_tool(args, log_file, root, env=None):
        calls.append([str(a) for a in args])
        open(args[args.index('--out') + 1], 'w').close()

    monkeypatch.setattr(study_run, 'run_tool', run_tool)
    run = StudyRun(
        'exfmem',
        'ExFMem',
        'configs/exfmem.py',
        reuse='none',
        build_exfmem=True)
    args = (run, 'none/epoch_10.pth', str(tmp_path), '/repo', ['a=1'], {})
    out = study_run.build_exfmem(*args)
    assert out == f'{tmp_path}/exfmem.pth'
    assert calls[0][:3] == [
        'tools/build_exfmem.py', 'configs/exfmem.py', 'none/epoch_10.pth'
    ]
    assert calls[0][-2:] == ['--cfg-options', 'a=1']
    assert study_run.build_exfmem(*args) == out
    assert len(calls) == 1
