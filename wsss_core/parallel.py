"""Per-image stages: one function applied to every image of a split's shard, on worker processes.

Workers are forked once per stage and receive image ids only; each reads its
own inputs (images, maps, HDF5 stores opened in the worker) and writes its
own outputs, so the parent process does no per-image work.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

from tqdm import tqdm

from wsss_core.data.dataset import load_index
from wsss_core.io import atomic_directory
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


def map_images(task: Callable[[T], R], items: Iterable[T], *, workers: int, total: int, desc: str) -> list[R]:
    """``[task(item) for item in items]``, in order, on ``workers`` processes (1 = in this process).

    The workers are forked with ``task`` installed, so it is not pickled (it
    may hold the dataset index or a box table); only the items travel, and
    they are produced lazily by the caller, so few are held at a time. The
    workers must not use torch (they run numpy / CRF code only).
    """
    progress = dict(total=total, desc=desc, unit="img", mininterval=2.0)
    if workers <= 1 or total <= 1:
        return [task(item) for item in tqdm(items, **progress)]
    context = multiprocessing.get_context("fork")
    with context.Pool(min(workers, total), initializer=_install, initargs=(task,)) as pool:
        return list(tqdm(pool.imap(_run_installed, items, chunksize=4), **progress))


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
    with contextlib.ExitStack() as stack:
        dirs = [stack.enter_context(atomic_directory(path)) for path in output_dirs]
        map_images(make_task(index, *dirs), ids, workers=workers, total=len(ids), desc=f"{desc} {shard.name}")
