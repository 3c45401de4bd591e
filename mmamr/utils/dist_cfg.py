# Copyright (c) mmamr contributors. All rights reserved.
import torch
from mmengine.config import Config


def setup_dist_cfg(cfg: Config) -> Config:
    """Make a distributed config run where CUDA is absent.

    On GPUs nothing changes (NCCL, ``device_ids=[LOCAL_RANK]``). Without
    CUDA, NCCL cannot work and DDP rejects ``device_ids`` for CPU modules,
    so a launched job switches to ``gloo`` and a device-less wrapper. This
    is what lets ``tools/dist_train.sh CONFIG 2`` run on a laptop and the
    distributed tests run in CI.

    Args:
        cfg (Config): A config whose ``launcher`` is set.

    Returns:
        Config: The same object, updated in place.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return cfg
    env_cfg = cfg.setdefault('env_cfg', dict())
    dist_cfg = env_cfg.setdefault('dist_cfg', dict())
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper.update(device_ids=None, broadcast_buffers=False)
    cfg.model_wrapper_cfg = wrapper
    return cfg
