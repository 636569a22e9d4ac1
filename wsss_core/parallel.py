"""Run a per-image function over many images with worker processes and a progress bar."""

from __future__ import annotations

import multiprocessing
from typing import Callable, Iterable, TypeVar

from tqdm import tqdm

T = TypeVar("T")
R = TypeVar("R")


def map_images(
    function: Callable[[T], R], items: Iterable[T], *, workers: int, total: int, desc: str
) -> list[R]:
    """Apply ``function`` to every item in order, on ``workers`` processes (1 = in-process).

    Items are produced lazily by the caller (e.g. read from a store), so only a
    few are held in memory at a time. ``function`` must be picklable. Workers are
    forked; they must not use torch (they run numpy / CRF code only).
    """
    progress = dict(total=total, desc=desc, unit="img", mininterval=2.0)
    if workers <= 1:
        return [function(item) for item in tqdm(items, **progress)]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return list(tqdm(pool.imap(function, items, chunksize=4), **progress))
