"""Whole images for batched inference: grouped by size, decoded by loader processes, written on a thread.

Images of one batch have the same size, so a batch is the forward pass of B
images with no padding; the outputs of an image do not depend on the other
images of its batch (up to floating-point rounding of batched kernels).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from wsss_core.data.dataset import DatasetIndex
from wsss_core.data.transforms import to_tensor
from wsss_core.io import read_image_size, read_rgb


@dataclass(frozen=True)
class ImageBatch:
    """Images of one size: their ids and the normalised (B,3,H,W) float tensor at full resolution."""

    ids: list[str]
    images: Tensor

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of every image of the batch."""
        return int(self.images.shape[-2]), int(self.images.shape[-1])


def size_groups(index: DatasetIndex, ids: Sequence[str], batch_size: int) -> list[list[str]]:
    """``ids`` in batches of at most ``batch_size`` images of the same size (sizes from the image headers).

    Batches follow the order in which each size first appears among ``ids``.
    """
    groups: dict[tuple[int, int], list[str]] = collections.defaultdict(list)
    for image_id in ids:
        groups[read_image_size(index.image_path(image_id))].append(image_id)
    return [group[start : start + batch_size] for group in groups.values() for start in range(0, len(group), batch_size)]


class _Batches(Dataset):
    def __init__(self, index: DatasetIndex, batches: list[list[str]]) -> None:
        self.index, self.batches = index, batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, item: int) -> tuple[list[str], Tensor]:
        ids = self.batches[item]
        return ids, torch.stack([to_tensor(read_rgb(self.index.image_path(image_id))) for image_id in ids])


def _as_is(item: Any) -> Any:
    return item


def image_batches(
    index: DatasetIndex, ids: Sequence[str], *, batch_size: int, workers: int = 0
) -> Iterator[ImageBatch]:
    """The images of ``ids`` as :class:`ImageBatch` es (:func:`size_groups`), decoded on ``workers`` processes."""
    loader = DataLoader(
        _Batches(index, size_groups(index, ids, batch_size)),
        batch_size=None,
        num_workers=workers,
        collate_fn=_as_is,
    )
    for batch_ids, images in loader:
        yield ImageBatch(list(batch_ids), images)


class OrderedWriter:
    """Runs ``function(*args)`` calls on one background thread, in submission order, keeping few pending.

    Lets a GPU loop hand off compression and file writes; the first error of
    a call is raised in the submitting thread (at a later :meth:`submit` or at
    exit).
    """

    def __init__(self, depth: int = 8) -> None:
        self.depth = depth
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._pending: collections.deque[concurrent.futures.Future] = collections.deque()

    def submit(self, function: Callable[..., Any], *args: Any) -> None:
        """Queue ``function(*args)``; waits while ``depth`` calls are pending."""
        self._pending.append(self._pool.submit(function, *args))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()

    def drain(self) -> None:
        """Wait for every queued call (raising its error)."""
        while self._pending:
            self._pending.popleft().result()


@contextlib.contextmanager
def ordered_writer(depth: int = 8) -> Iterator[OrderedWriter]:
    """An :class:`OrderedWriter` that has finished every call when the block ends."""
    writer = OrderedWriter(depth)
    try:
        yield writer
        writer.drain()
    finally:
        for future in writer._pending:
            future.cancel()
        writer._pool.shutdown(wait=True)
