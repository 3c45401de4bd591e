# Copyright (c) mmamr contributors. All rights reserved.
from typing import Iterable, Iterator, TypeVar

T = TypeVar('T')


def with_progress(iterable: Iterable[T],
                  total: int,
                  initial: int = 0) -> Iterator[T]:
    """Iterate with a progress bar (tqdm, else mmengine's).

    Args:
        iterable (Iterable): Items, one per unit of progress.
        total (int): Units in the whole job.
        initial (int): Units already done before this run (a resumed
            conversion). Defaults to 0.
    """
    try:
        from tqdm import tqdm
    except ImportError:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(total - initial)
        for item in iterable:
            bar.update()
            yield item
        return
    yield from tqdm(iterable, total=total, initial=initial, unit='job')
