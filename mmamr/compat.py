# Copyright (c) mmamr contributors. All rights reserved.
"""Work-arounds for known upstream bugs, all in one place.

Each fix is idempotent, applied once by ``import mmamr`` (before anything
from ``mmaction.models`` is imported), and has a test in
``tests/test_compat.py`` that fails without it. Delete a fix once the
versions we support no longer need it.
"""
import atexit
import functools
import importlib
import importlib.util
import os
import os.path as osp
import sys
import types

import torch

_APPLIED = set()


def _once(fix):
    """Run ``fix`` at most once per process."""

    def wrapper():
        if fix.__name__ not in _APPLIED:
            fix()
            _APPLIED.add(fix.__name__)

    wrapper.__name__ = fix.__name__
    wrapper.__doc__ = fix.__doc__
    return wrapper


@_once
def alias_importlib_metadata() -> None:
    """Provide ``importlib_metadata`` when it is not installed.

    ``mmaction.utils.dependency`` imports the back-port ``importlib_metadata``
    without declaring it. The standard library's ``importlib.metadata`` has
    the two names it uses (``distribution``, ``PackageNotFoundError``).
    """
    try:
        import importlib_metadata  # noqa: F401
    except ImportError:
        sys.modules['importlib_metadata'] = importlib.import_module(
            'importlib.metadata')


def _missing_drn_package() -> bool:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    root = list(spec.submodule_search_locations)[0]
    return not osp.exists(
        osp.join(root, 'models', 'localizers', 'drn', 'drn.py'))


@_once
def stub_missing_drn_localizer() -> None:
    """Stand in for ``mmaction.models.localizers.drn``, absent from the wheel.

    The mmaction2 1.2.0 wheel on the package registry lacks that sub-package
    (upstream issue 2714), so ``import mmaction.models`` fails. We register
    empty modules under its names whose ``DRN`` raises when built: DRN
    (temporal grounding) is unusable in such an install anyway, and every
    other model imports again.
    """
    if not _missing_drn_package():
        return

    class DRN:  # noqa: D401 - a placeholder, never a working model
        """Placeholder for the DRN localizer missing from the wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction.models.localizers.drn is missing from the installed '
                'mmaction2 wheel (upstream issue 2714); install mmaction2 '
                'from source to use DRN.')

    package = types.ModuleType('mmaction.models.localizers.drn')
    package.__path__ = []
    module = types.ModuleType('mmaction.models.localizers.drn.drn')
    module.DRN = DRN
    package.drn = module
    package.DRN = DRN
    sys.modules.setdefault(package.__name__, package)
    sys.modules.setdefault(module.__name__, module)


def _vindlu_transformers_names() -> bool:
    """Whether ``transformers`` has what mmaction2 1.2.0's VindLU imports."""
    try:
        import transformers.file_utils  # noqa: F401
        from transformers.modeling_utils import (  # noqa: F401
            PreTrainedModel, apply_chunking_to_forward,
            find_pruneable_heads_and_indices, prune_linear_layer)
        from transformers.models.beit import modeling_beit  # noqa: F401
    except Exception:  # any failure is the one mmaction would hit
        return False
    return True


@_once
def skip_vindlu_without_its_transformers() -> None:
    """Keep ``import mmaction.models`` working beside transformers 5.

    mmaction2 1.2.0 imports its VindLU models whenever transformers >= 4.28
    is installed, from names that transformers 5 removed
    (``transformers.modeling_utils.apply_chunking_to_forward`` among
    them), so the import of every model fails on a machine that has a
    recent transformers for other work (seen on our GPU machines). When the
    names are missing we take mmaction's own fallback for an install
    without transformers: VindLU registered as placeholders. mmamr uses no
    VindLU model.
    """
    from mmaction.utils import dependency
    if dependency.WITH_MULTIMODAL and not _vindlu_transformers_names():
        dependency.WITH_MULTIMODAL = False


def _load_local_checkpoint(filename, map_location=None):
    """mmengine's local loader, with ``weights_only=False`` made explicit."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return torch.load(filename, map_location=map_location, weights_only=False)


@_once
def load_checkpoints_with_pickled_state() -> None:
    """Let mmengine load its own checkpoints under PyTorch >= 2.6.

    mmengine 0.10.x calls ``torch.load`` without ``weights_only``; PyTorch 2.6
    changed that default to ``True``, which refuses the message hub and
    numpy objects mmengine stores, so ``--resume`` and ``load_from`` fail.
    We re-register mmengine's loader for local paths with the old default.
    Only load checkpoints you trust: unpickling can run code, as it always
    did with mmengine before PyTorch 2.6.
    """
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_local_checkpoint, force=True)


@_once
def init_dist_without_cuda() -> None:
    """Let mmengine's ``pytorch`` launcher initialise on CPU-only machines.

    ``mmengine.dist.utils._init_dist_pytorch`` calls ``torch.cuda.set_device``
    unconditionally, which fails without CUDA. When CUDA is absent we skip
    only that call; the process group is created exactly as before (the
    configs choose ``gloo`` on CPU, see ``mmamr.utils.setup_dist_cfg``).
    """
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available():
            return original(backend, init_backend=init_backend, **kwargs)
        torch.distributed.init_process_group(backend=backend, **kwargs)

    dist_utils._init_dist_pytorch = _init_dist_pytorch


def _destroy_default_process_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


@_once
def destroy_process_group_at_exit() -> None:
    """Destroy the process group before the interpreter shuts down.

    Neither mmengine's Runner nor torchrun destroys the process group. A
    gloo worker that exits with it alive can abort in interpreter
    finalisation ("terminate called without an active exception", SIGABRT;
    upstream pytorch PR 179291, not merged), and torchrun then fails the
    whole job after it finished: 2 of 20 two-process gloo runs here, 0 of
    20 with the group destroyed first. ``atexit`` runs while the
    interpreter is still whole; a no-op when no group exists.
    """
    atexit.register(_destroy_default_process_group)


@_once
def preprocess_stacked_action_inputs() -> None:
    """Let mmaction2's ``ActionDataPreprocessor`` take stacked batches.

    Collating by stacking in the dataloader worker (mmengine's
    ``default_collate``, our ``rgb_skeleton_collate``) hands the main
    process one shared-memory tensor per modality instead of one per
    sample, each of which costs a round trip to the worker. mmaction2
    1.2.0's ``preprocess`` passes its inputs to mmengine's ``stack_batch``,
    which accepts only a list. We unbind a stacked tensor into the list of
    its samples (views) first; lists pass unchanged.
    """
    from mmaction.models.data_preprocessors import ActionDataPreprocessor
    original = ActionDataPreprocessor.preprocess

    def preprocess(self, inputs, data_samples, training=False):
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs.unbind(0))
        return original(self, inputs, data_samples, training)

    ActionDataPreprocessor.preprocess = preprocess


@_once
def alias_numpy_inf() -> None:
    """Give numpy 2 back the ``np.Inf`` alias that mmaction2 still uses.

    mmaction2 1.2.0's ``PoseCompact`` and ``MMCompact`` (the PoseC3D and
    RGBPoseConv3D pipelines) write ``np.Inf``, which numpy 2 removed, so
    every such pipeline raises on its first sample. The alias names the
    same float as ``np.inf``; setting it on the module changes nothing for
    code that does not use it.
    """
    import numpy as np
    if 'Inf' not in vars(np):
        np.Inf = np.inf


# cuBLAS is deterministic only with a fixed workspace (CUDA >= 10.2); read
# when its handle is created, i.e. before the first matrix product.
CUBLAS_WORKSPACE_CONFIG = ':4096:8'


@_once
def deterministic_algorithms_warn_only() -> None:
    """Let ``--deterministic`` train models that use ops with no
    deterministic CUDA kernel.

    mmengine's ``set_random_seed(deterministic=True)`` calls
    ``torch.use_deterministic_algorithms(True)``, under which every such
    op raises at its first use: HCN's bilinear resize of the motion
    stream (``interpolate`` backward), the 3-D average pooling of
    mmaction2's heads, and in older PyTorch releases the 3-D max-pool
    backward of I3D, so training stopped in its first backward. We turn
    the setting on again with ``warn_only=True``: deterministic kernels
    wherever they exist, one warning per remaining op (the run is then
    reproducible except for those ops' float summation order), and a
    fixed cuBLAS workspace unless ``CUBLAS_WORKSPACE_CONFIG`` is set.
    docs/cluster.md lists the exceptions.
    """
    from mmengine.runner import Runner
    original = Runner.set_randomness

    def set_randomness(self,
                       seed,
                       diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        if deterministic:
            os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG',
                                  CUBLAS_WORKSPACE_CONFIG)
        original(self, seed, diff_rank_seed, deterministic)
        if deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)

    Runner.set_randomness = set_randomness


@_once
def head_losses_of_bfloat16_scores() -> None:
    """Let mmaction2's heads compute losses of bfloat16 class scores.

    ``BaseHead.loss_by_feat`` turns the scores into a numpy array for its
    accuracies, and numpy has no bfloat16: under bfloat16 autocast (AMP on
    a CPU, or ``AmpOptimWrapper(dtype='bfloat16')`` on a GPU) every
    training step raised ``TypeError: Got unsupported ScalarType
    BFloat16``. We hand it the scores in float32, the precision autocast
    computes the cross-entropy in anyway; other dtypes pass unchanged.
    """
    from mmaction.models.heads.base import BaseHead
    original = BaseHead.loss_by_feat

    @functools.wraps(original)  # keeps the original as __wrapped__
    def loss_by_feat(self, cls_scores, data_samples):
        if cls_scores.dtype == torch.bfloat16:
            cls_scores = cls_scores.float()
        return original(self, cls_scores, data_samples)

    BaseHead.loss_by_feat = loss_by_feat


def apply_all() -> None:
    """Apply every fix; called by ``import mmamr``."""
    alias_importlib_metadata()
    stub_missing_drn_localizer()
    skip_vindlu_without_its_transformers()
    load_checkpoints_with_pickled_state()
    init_dist_without_cuda()
    destroy_process_group_at_exit()
    preprocess_stacked_action_inputs()
    alias_numpy_inf()
    deterministic_algorithms_warn_only()
    head_losses_of_bfloat16_scores()
