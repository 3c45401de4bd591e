# Copyright (c) mmamr contributors. All rights reserved.
"""tools/analysis/attack_trace.py reproduces, clip by clip and seed by
seed, what ``tools/test.py --attack-seed`` reports, and traces every
forward of the attack (``-m slow``: tiny synthetic data)."""
import importlib.util
import json

import pytest
import torch
from conftest import CONFIG, ROOT, data_options, run_tool
from mmaction.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmamr.utils import init_weights_quietly

pytestmark = pytest.mark.slow

SAMPLES = 3
FLAGS = ['--attack', 'fgsm', 'pgd', '--targets', 'skeleton', '--steps', '3']


@pytest.fixture(scope='module')
def trace_tool():
    spec = importlib.util.spec_from_file_location(
        'attack_trace', ROOT / 'tools' / 'analysis' / 'attack_trace.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """The synthetic config's model as initialised (an attack needs no
    trained model to be traced)."""
    cfg = Config.fromfile(str(CONFIG))
    with DefaultScope.overwrite_default_scope('mmaction'):
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
    init_weights_quietly(model)
    path = tmp_path_factory.mktemp('trace') / 'init.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return path


def test_trace_reproduces_the_evaluation(trace_tool, checkpoint,
                                         synthetic_data, tmp_path):
    options = [
        o for o in data_options(synthetic_data, test_samples=SAMPLES)
        if o.startswith('test_dataloader.dataset.')
    ]
    run_tool(['tools/test.py', CONFIG, checkpoint, '--work-dir', tmp_path] +
             FLAGS + ['--attack-seed', '1', '--cfg-options'] +
             data_options(synthetic_data, test_samples=SAMPLES))
    with open(tmp_path / 'robustness.json') as f:
        per_sample = json.load(f)['per_sample']
    clips = per_sample['samples']
    out = tmp_path / 'trace.json'
    traced = trace_tool.main([
        str(CONFIG),
        str(checkpoint), '--clips', *clips, *FLAGS, '--seeds', '2', '--out',
        str(out), '--cfg-options', *options
    ])
    with open(out) as f:
        assert json.load(f) == json.loads(json.dumps(traced))
    for i, clip in enumerate(clips):
        runs = traced['clips'][clip]['runs']
        for attack, steps in (('FGSM', 1), ('PGD3', 3)):
            seeds = runs[f'{attack}/skeleton']
            assert [r['seed'] for r in seeds] == [0, 1]
            # One forward per step inside the attack, then the result.
            assert all(len(r['steps']) == steps for r in seeds)
            assert all(r['fooled'] == (r['result'][1] > 0) for r in seeds)
            # Seed 1 is the evaluation's: the same outcome for the clip.
            hit = per_sample['attacks'][attack]['skeleton'][i] == '1'
            assert seeds[1]['fooled'] == (not hit), (clip, attack)
        # FGSM has no random start: the seed changes nothing.
        fgsm = runs['FGSM/skeleton']
        assert fgsm[0]['result'] == fgsm[1]['result']


def test_unknown_clip_is_a_clear_error(trace_tool, checkpoint, synthetic_data):
    options = [
        o for o in data_options(synthetic_data, test_samples=SAMPLES)
        if o.startswith('test_dataloader.dataset.')
    ]
    with pytest.raises(KeyError, match='S999C001P001R001A001'):
        trace_tool.main([
            str(CONFIG),
            str(checkpoint), '--clips', 'S999C001P001R001A001', *FLAGS,
            '--cfg-options', *options
        ])
