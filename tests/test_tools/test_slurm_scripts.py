# Copyright (c) mmamr contributors. All rights reserved.
"""``tools/slurm_train.sh`` and ``tools/slurm_test.sh`` hand srun the
MMAction2 job layout and our tools a command line they accept.

No Slurm here: a stand-in ``srun`` on PATH records its arguments and
environment; the recorded tool command is then parsed by the tool's own
argument parser.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_SRUN = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ['SRUN_RECORD'], 'w') as f:
    json.dump(dict(argv=sys.argv[1:],
                   pythonpath=os.environ.get('PYTHONPATH', ''),
                   master_port=os.environ.get('MASTER_PORT')), f)
"""


def run_script(tmp_path, script, args, **env):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(0o755)
    record = tmp_path / 'srun.json'
    subprocess.run(
        ['bash', str(ROOT / 'tools' / script), *args],
        check=True,
        capture_output=True,
        env={
            **os.environ, 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
            'SRUN_RECORD': str(record),
            **env
        })
    return json.loads(record.read_text())


def split_srun(argv):
    """srun's own options, and the command it runs."""
    i = argv.index('python')
    return argv[:i], argv[i:]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'mmamr_tool_{name}',
                                                  ROOT / 'tools' / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_with_tool(name, command, monkeypatch):
    monkeypatch.setattr(sys, 'argv', command[2:])
    return load_tool(name).parse_args()


def test_slurm_train_launches_one_task_per_gpu(tmp_path, monkeypatch):
    rec = run_script(
        tmp_path,
        'slurm_train.sh', [
            'gpu', 'amr', 'configs/amr_i3d_hcn_ntu.py', '--resume',
            '--work-dir', 'runs/a b', '--cfg-options', 'randomness.seed=3'
        ],
        GPUS='16',
        SRUN_ARGS='--qos high --time 3-00:00:00')
    srun, command = split_srun(rec['argv'])
    assert srun == [
        '-p', 'gpu', '--job-name=amr', '--gres=gpu:8', '--ntasks=16',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
        '--qos', 'high', '--time', '3-00:00:00'
    ]
    assert command[:3] == ['python', '-u', str(ROOT / 'tools' / 'train.py')]
    # The repository on PYTHONPATH, a job's own rendezvous port.
    assert str(ROOT / 'tools' / '..') in rec['pythonpath'].split(os.pathsep)
    assert 12000 <= int(rec['master_port']) < 32000
    args = parse_with_tool('train.py', command, monkeypatch)
    assert args.config == 'configs/amr_i3d_hcn_ntu.py'
    assert args.launcher == 'slurm'
    assert args.resume == 'auto'
    # An argument with a space arrives whole.
    assert args.work_dir == 'runs/a b'
    assert args.cfg_options == {'randomness.seed': 3}


def test_slurm_test_runs_the_attack_protocol(tmp_path, monkeypatch):
    port = '29123'  # a job may choose its own
    rec = run_script(
        tmp_path,
        'slurm_test.sh', [
            'gpu', 'eval', 'configs/amr_i3d_hcn_ntu.py', 'amr.pth', '--attack',
            'fgsm', 'pgd', 'cw', '--targets', 'rgb', 'skeleton', 'both'
        ],
        GPUS='8',
        MASTER_PORT=port)
    srun, command = split_srun(rec['argv'])
    assert '--ntasks=8' in srun and '-p' in srun
    assert command[:3] == ['python', '-u', str(ROOT / 'tools' / 'test.py')]
    assert rec['master_port'] == port
    args = parse_with_tool('test.py', command, monkeypatch)
    assert (args.config, args.checkpoint) == ('configs/amr_i3d_hcn_ntu.py',
                                              'amr.pth')
    assert args.launcher == 'slurm'
    assert args.attack == ['fgsm', 'pgd', 'cw']
