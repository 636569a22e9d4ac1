"""Per-image stages: one function applied to every image of a split's shard, on worker processes.

Workers are forked once per stage and receive image ids only; each reads its
own inputs (images, maps, HDF5 stores opened in the worker) and writes its
own outputs, so the parent process does no per-image work.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import multiprocessing.pool
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

from wsss_core.data.dataset import load_index
from wsss_core.io import atomic_directories
from wsss_core.logs import progress
from wsss_core.sharding import Shard

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
ImageTask = Callable[[str], object]

_installed: Callable | None = None  # the task of a worker process, set by _install


def _install(task: Callable) -> None:
    global _installed
    _installed = task


def _run_installed(item: object) -> object:
    assert _installed is not None, "worker started without a task"
    return _installed(item)


class WorkerPool:
    """``task`` on ``workers`` forked processes (in this process for ``workers <= 1``), for the life of a stage.

    The workers are forked with ``task`` installed, so it is not pickled (it
    may hold the dataset index or a box table); only the items travel. They
    must not use torch (they run numpy / CRF code only). Fork the pool early
    in a stage, before large objects exist, so the workers stay small. With
    ``threads`` the workers are threads of this process instead, for a task
    whose work releases the GIL (torch kernels, image codecs) and may use the
    training device.
    """

    def __init__(self, task: Callable[[T], R], workers: int, *, threads: bool = False) -> None:
        self.task = task
        self._pool: multiprocessing.pool.Pool | None = None
        self._call: Callable = _run_installed
        if workers > 1 and threads:
            self._pool, self._call = multiprocessing.pool.ThreadPool(workers), task
        elif workers > 1:
            self._pool = multiprocessing.get_context("fork").Pool(workers, initializer=_install, initargs=(task,))
        self.in_flight = 2 * max(1, workers)

    def imap(self, items: Iterable[T], *, total: int, desc: str) -> Iterator[R]:
        """``task(item)`` of every item, in order, with a progress bar; few items are held at a time.

        Items are pulled from ``items`` only as workers free up (at most
        :attr:`in_flight` pending), so a generator of large arrays stays bounded.
        """
        return progress(self._results(items), total=total, desc=desc)

    def _results(self, items: Iterable[T]) -> Iterator[R]:
        if self._pool is None:
            yield from (self.task(item) for item in items)
            return
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append(self._pool.apply_async(self._call, (item,)))
            while len(pending) >= self.in_flight:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    def submit(self, item: T) -> Callable[[], R]:
        """Start ``task(item)`` without waiting; returns the function that waits for its result."""
        if self._pool is None:
            result = self.task(item)
            return lambda: result
        return self._pool.apply_async(self._call, (item,)).get

    def close(self) -> None:
        """Stop the workers."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def map_images(task: Callable[[T], R], items: Iterable[T], *, workers: int, total: int, desc: str) -> list[R]:
    """``[task(item) for item in items]``, in order, on ``workers`` processes (1 = in this process)."""
    with WorkerPool(task, min(workers, total)) as pool:
        return list(pool.imap(items, total=total, desc=desc))


def per_image_stage(
    dataset_root: str | Path,
    split: str,
    shard: Shard,
    output_dirs: Sequence[str | Path],
    make_task: Callable[..., ImageTask],
    *,
    workers: int,
    desc: str,
) -> None:
    """Run a per-image stage on the images of ``split`` in ``shard``.

    ``make_task(index, *dirs)`` builds the function of one image id, writing
    into ``dirs``: temporary siblings of ``output_dirs`` that replace them
    (atomically) once every image is done.
    """
    index = load_index(dataset_root)
    ids = shard.select(index.ids(split))
    log.info("%s: %d %s images (shard %s)", desc, len(ids), split, shard.name)
    with atomic_directories(dict(enumerate(output_dirs))) as dirs:
        map_images(make_task(index, *dirs.values()), ids, workers=workers, total=len(ids), desc=f"{desc} {shard.name}")
