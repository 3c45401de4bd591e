# Copyright (c) mmamr contributors. All rights reserved.
"""Each fix in mmamr/compat.py, tested in a fresh interpreter.

Every test runs the failing scenario once *with* ``import mmamr`` (must
pass) and, where the upstream bug is still present in the installed
versions, once without it (must fail) — so a test breaks both when a fix is
removed and tells us when upstream no longer needs it.
"""
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import mmamr.compat

COMPAT = mmamr.compat.__file__


def run_python(code: str, env: dict = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **(env or {})
        },
        timeout=300)


def test_mmaction_models_import_despite_missing_drn():
    fixed = run_python('import mmamr, mmaction.models')
    assert fixed.returncode == 0, fixed.stderr
    unfixed = run_python('import mmaction.models')
    if unfixed.returncode == 0:
        pytest.skip('installed mmaction2 ships drn; fix no longer needed')
    assert 'localizers.drn' in unfixed.stderr


def test_drn_placeholder_refuses_to_build():
    result = run_python("""
        import mmamr
        from mmaction.models.localizers.drn.drn import DRN
        try:
            DRN()
        except ImportError as e:
            print('refused:', e)
        """)
    assert result.returncode == 0, result.stderr
    if 'refused' not in result.stdout:
        pytest.skip('installed mmaction2 ships a real DRN')
    assert 'issue 2714' in result.stdout


def test_mmaction_dependency_utils_without_importlib_metadata():
    # `sys.modules[name] = None` makes `import name` fail, as on a machine
    # where the undeclared back-port is not installed.
    block = "import sys; sys.modules['importlib_metadata'] = None\n"
    fixed = run_python(block + 'import mmamr, mmaction.utils.dependency')
    assert fixed.returncode == 0, fixed.stderr
    unfixed = run_python(block + 'import mmaction.utils.dependency')
    assert unfixed.returncode != 0
    assert 'importlib_metadata' in unfixed.stderr


def fake_transformers_5(root) -> dict:
    """A ``transformers`` as mmaction sees version 5: installed (metadata
    >= 4.28) but without ``modeling_utils.apply_chunking_to_forward``."""
    package = root / 'transformers'
    package.mkdir()
    (package / '__init__.py').write_text("__version__ = '5.0.0'\n")
    (package / 'modeling_utils.py').write_text('class PreTrainedModel:\n'
                                               '    pass\n')
    info = root / 'transformers-5.0.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\n'
                                   'Name: transformers\nVersion: 5.0.0\n')
    path = os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')])
    return dict(PYTHONPATH=path)


def test_mmaction_models_import_beside_transformers_5(tmp_path):
    env = fake_transformers_5(tmp_path)
    fixed = run_python(
        """
        import mmamr, mmaction.models
        from mmaction.registry import MODELS
        try:
            MODELS.build(dict(type='VindLUVQA'))
        except ImportError as e:
            print('placeholder:', e)
        """, env)
    assert fixed.returncode == 0, fixed.stderr
    assert 'placeholder:' in fixed.stdout  # VindLU only, refused clearly
    # Unfixed: every other fix applied (compat.py loaded alone, so that
    # `import mmamr` does not apply this one), then the model import.
    unfixed = run_python(
        f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location('compat', {COMPAT!r})
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)
        compat.alias_importlib_metadata()
        compat.stub_missing_drn_localizer()
        import mmaction.models
        """, env)
    assert unfixed.returncode != 0
    assert 'transformers' in unfixed.stderr.splitlines()[-1]


def test_resume_checkpoint_with_message_hub_loads(tmp_path):
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmamr  # noqa: F401

    hub = MessageHub.get_instance('test_compat_hub')
    hub.update_scalar('train/loss', 1.5)
    path = tmp_path / 'epoch_1.pth'
    torch.save(
        dict(
            meta=dict(epoch=1, seed=np.int64(0)),
            message_hub=hub.state_dict(),
            state_dict=dict(w=torch.ones(2))), path)
    checkpoint = _load_checkpoint(str(path), map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    assert torch.equal(checkpoint['state_dict']['w'], torch.ones(2))

    if 'weights_only' not in torch.load.__doc__:
        return
    with pytest.raises(Exception):  # PyTorch >= 2.6 default refuses it
        torch.load(path, map_location='cpu')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='tests the CPU path')
def test_init_dist_pytorch_launcher_without_cuda():
    env = dict(
        RANK='0',
        LOCAL_RANK='0',
        WORLD_SIZE='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(_free_port()))
    code = """
        {imports}
        from mmengine.dist import init_dist, get_world_size
        init_dist('pytorch', backend='gloo')
        print('world', get_world_size())
        """
    fixed = run_python(code.format(imports='import mmamr'), env)
    assert fixed.returncode == 0, fixed.stderr
    assert 'world 1' in fixed.stdout
    unfixed = run_python(code.format(imports=''), env)
    assert unfixed.returncode != 0


def test_process_group_destroyed_at_exit():
    # The abort this prevents is intermittent (2 in 20 two-process runs),
    # so we check the cause: whether the group is destroyed before exit.
    env = dict(
        RANK='0',
        WORLD_SIZE='1',
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(_free_port()))
    code = """
        {imports}
        import torch.distributed as dist
        destroy = dist.destroy_process_group

        def traced(*args, **kwargs):
            print('destroyed', flush=True)
            return destroy(*args, **kwargs)

        dist.destroy_process_group = traced
        dist.init_process_group('gloo')
        """
    fixed = run_python(code.format(imports='import mmamr'), env)
    assert fixed.returncode == 0, fixed.stderr
    assert 'destroyed' in fixed.stdout
    unfixed = run_python(code.format(imports=''), env)
    assert 'destroyed' not in unfixed.stdout


def test_action_preprocessor_takes_stacked_batches():
    from mmaction.registry import MODELS
    from mmaction.structures import ActionDataSample
    from mmengine.model import stack_batch

    from mmamr.models import RGBSkeletonRecognizer

    with pytest.raises(AssertionError):  # the upstream limitation
        stack_batch(torch.zeros(2, 3))
    preprocessor = MODELS.build(
        RGBSkeletonRecognizer.default_data_preprocessor())
    rgb = torch.randint(0, 256, (4, 1, 3, 2, 8, 8), dtype=torch.uint8)
    skeleton = torch.rand(4, 1, 2, 5, 25, 3)
    outputs = []
    for inputs in (dict(rgb=list(rgb), skeleton=list(skeleton)),
                   dict(rgb=rgb, skeleton=skeleton)):
        samples = [ActionDataSample().set_gt_label(i) for i in range(4)]
        outputs.append(
            preprocessor(dict(inputs=inputs, data_samples=samples))['inputs'])
    for modality in ('rgb', 'skeleton'):
        assert torch.equal(outputs[0][modality], outputs[1][modality])
    assert outputs[1]['rgb'].dtype == torch.float32
    assert outputs[1]['rgb'].max() <= 1


def test_mmaction_pose_compact_runs_on_numpy_2():
    code = """
        {imports}
        import numpy as np
        from mmaction.datasets.transforms import MMCompact, PoseCompact
        kp = np.random.default_rng(0).uniform(10, 50, (1, 4, 17, 2))
        for compact in (PoseCompact(), MMCompact()):
            imgs = [np.zeros((64, 64, 3), np.uint8)] * 4
            out = compact(dict(img_shape=(64, 64), keypoint=kp.copy(),
                               keypoint_score=np.ones((1, 4, 17)),
                               imgs=imgs))
            assert out['keypoint'].shape == kp.shape
        """
    fixed = run_python(code.format(imports='import mmamr'))
    assert fixed.returncode == 0, fixed.stderr
    unfixed = run_python(code.format(imports=''))
    if unfixed.returncode == 0:
        pytest.skip('installed numpy or mmaction2 no longer needs the alias')
    assert 'Inf' in unfixed.stderr


@pytest.fixture
def restore_determinism(monkeypatch):
    """Undo the process-wide settings of a deterministic Runner."""
    monkeypatch.delenv('CUBLAS_WORKSPACE_CONFIG', raising=False)
    flags = (torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = flags


def unpool():
    """``max_unpool2d`` alerts on the CPU too: it stands in for the CUDA
    ops without a deterministic kernel (HCN's interpolate backward...)."""
    x, indices = torch.nn.functional.max_pool2d(
        torch.rand(1, 1, 4, 4), 2, return_indices=True)
    return torch.nn.functional.max_unpool2d(x, indices, 2)


def test_deterministic_runner_warns_instead_of_raising(tmp_path,
                                                       restore_determinism):
    from mmengine.runner import Runner
    from mmengine.runner.utils import set_random_seed

    import mmamr  # noqa: F401

    Runner(
        model=torch.nn.Linear(2, 2),
        work_dir=str(tmp_path),
        # The scope every other test builds in (a Runner makes its scope
        # the current one).
        default_scope='mmaction',
        randomness=dict(seed=0, deterministic=True))
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic
    assert os.environ['CUBLAS_WORKSPACE_CONFIG'] == ':4096:8'
    with pytest.warns(UserWarning, match='deterministic implementation'):
        unpool()

    set_random_seed(0, deterministic=True)  # mmengine's own setting
    with pytest.raises(RuntimeError, match='deterministic implementation'):
        unpool()


def test_head_loss_of_bfloat16_scores():
    from mmaction.models.heads.base import BaseHead
    from mmaction.structures import ActionDataSample
    from mmengine.registry import DefaultScope

    from mmamr.models import FusionHead

    with DefaultScope.overwrite_default_scope('mmaction'):
        head = FusionHead(num_classes=4, in_channels=8)
    samples = [ActionDataSample().set_gt_label(i) for i in range(4)]
    scores = torch.randn(4, 4)
    reference = head.loss_by_feat(scores, samples)
    losses = head.loss_by_feat(scores.to(torch.bfloat16), samples)
    assert losses['top1_acc'] == reference['top1_acc']
    assert torch.isclose(losses['loss_cls'], reference['loss_cls'], atol=0.05)

    # The upstream method itself still refuses them.
    with pytest.raises(TypeError, match='BFloat16'):
        BaseHead.loss_by_feat.__wrapped__(head, scores.to(torch.bfloat16),
                                          samples)
