# Copyright (c) mmamr contributors. All rights reserved.
"""An epoch-based train loop that resumes from a mid-epoch checkpoint."""
import itertools
import logging
from contextlib import contextmanager
from typing import Iterable, Iterator

from mmaction.registry import LOOPS
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import BatchSampler, DataLoader, Sampler


class _SkipFirst(Sampler):
    """``sampler`` without its first ``num`` indices, reporting the full
    length (mmengine's logs count iterations within the whole epoch)."""

    def __init__(self, sampler: Sampler, num: int) -> None:
        self.sampler = sampler
        self.num = num

    def __iter__(self) -> Iterator:
        return itertools.islice(iter(self.sampler), self.num, None)

    def __len__(self) -> int:
        return len(self.sampler)


@contextmanager
def skip_first_batches(dataloader: DataLoader, num: int) -> Iterator[bool]:
    """Make the next pass over ``dataloader`` start at batch ``num``,
    without loading the batches before it.

    Works for a DataLoader built with a plain ``BatchSampler`` (any
    ``batch_size`` and sampler, e.g. mmengine's ``DefaultSampler``): the
    sampler's first ``num * batch_size`` indices are dropped, so the
    remaining batches are exactly those of an uninterrupted pass (on each
    rank: ``DefaultSampler`` splits the indices before). Yields whether
    it could; the sampler is restored on exit.
    """
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if type(batch_sampler) is not BatchSampler or num == 0:
        yield num == 0
        return
    sampler = batch_sampler.sampler
    batch_sampler.sampler = _SkipFirst(sampler, num * batch_sampler.batch_size)
    try:
        yield True
    finally:
        batch_sampler.sampler = sampler


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` that also resumes from a checkpoint saved
    in the middle of an epoch.

    A preempted job loses only the iterations since its last checkpoint
    when an iteration-interval ``CheckpointHook`` (``by_epoch=False``)
    saves within epochs. mmengine's own loop, resumed from such a
    checkpoint, would run the whole interrupted epoch again (the first
    part twice) and count those iterations on top, so the run would end
    past its schedule. This loop continues the interrupted epoch at the
    next batch: it skips the batches done before without loading them
    (:func:`skip_first_batches`; the sampler shuffles by epoch, so they
    are the same batches), and an interrupted run then ends where an
    uninterrupted one ends. At epoch boundaries it is mmengine's loop.

    Use it with ``tools/train.py --resume``, which picks the latest
    checkpoint (epoch or iteration) of the work dir::

        train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=80)
        default_hooks = dict(iter_checkpoint=dict(
            type='CheckpointHook', by_epoch=False, interval=500,
            max_keep_ckpts=2, save_last=False))

    Args: those of ``EpochBasedTrainLoop``.
    """

    def run_epoch(self) -> None:
        """Iterate one epoch, or what remains of it after a resume."""
        done = self._iter - self._epoch * len(self.dataloader)
        if done == 0:
            return super().run_epoch()
        if not 0 < done <= len(self.dataloader):
            raise RuntimeError(
                f'Resumed at iteration {self._iter} of epoch '
                f'{self._epoch + 1}, which has {len(self.dataloader)} '
                'iterations: the checkpoint was saved with another number '
                'of iterations per epoch (dataset, batch size or number of '
                'GPUs changed).')
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        with skip_first_batches(self.dataloader, done) as skipped:
            batches: Iterable = self.dataloader
            if not skipped:
                print_log(
                    'The train dataloader has no plain BatchSampler: '
                    f'loading and dropping the {done} batches of epoch '
                    f'{self._epoch + 1} trained before the checkpoint.',
                    logger='current',
                    level=logging.WARNING)
                batches = itertools.islice(self.dataloader, done, None)
            print_log(
                f'Resuming epoch {self._epoch + 1} at iteration {done + 1} '
                f'of {len(self.dataloader)}.',
                logger='current')
            for idx, data_batch in enumerate(batches, start=done):
                self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
