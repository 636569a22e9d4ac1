"""Shards of a per-image stage, and the gather step that joins their outputs.

A per-image stage (saliency, CAM dumping, label fusion, CTLR, CRF) can run as
``count`` independent jobs, each on the images of one :class:`Shard`. An
image belongs to shard ``int(sha1(id)) mod count``: membership depends on the
id alone, so adding images to a dataset never moves the existing ones to
another shard (for the same ``count``). Each shard writes its own directory of
PNGs or its own HDF5 store; :func:`gather` joins them into the output the
unsharded stage would have written.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from wsss_core.data.dataset import id_digest
from wsss_core.io import InputError, atomic_directory
from wsss_core.store import join_stores

_NAME = re.compile(r"^(\d+)-of-(\d+)$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (0-based) of ``count``; named ``"<index>-of-<count>"``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}: need count >= 1 and 0 <= index < count")

    @classmethod
    def parse(cls, name: str) -> "Shard":
        """The shard named ``name`` (``"2-of-4"``)."""
        match = _NAME.match(name)
        if match is None:
            raise ValueError(f"shard name {name!r} is not of the form '<index>-of-<count>'")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError as err:
            raise ValueError(f"shard name {name!r}: {err}") from err

    @property
    def name(self) -> str:
        """``"<index>-of-<count>"``, as used in output paths."""
        return f"{self.index}-of-{self.count}"

    def contains(self, image_id: str) -> bool:
        """Whether ``image_id`` belongs to this shard (stable hash of the id)."""
        return int(id_digest(image_id), 16) % self.count == self.index

    def select(self, ids: Iterable[str]) -> tuple[str, ...]:
        """The ids of this shard, in their given order."""
        return tuple(image_id for image_id in ids if self.contains(image_id))


ALL_IMAGES = Shard()


def shard_names(count: int) -> list[str]:
    """Names of the ``count`` shards of a stage."""
    return [Shard(index, count).name for index in range(count)]


def auto_shard_count(num_images: int | None, images_per_shard: int) -> int:
    """``ceil(num_images / images_per_shard)`` shards (1 when the size is unknown)."""
    if images_per_shard < 1:
        raise ValueError(f"images_per_shard must be >= 1, got {images_per_shard}")
    if not num_images:
        return 1
    return max(1, math.ceil(num_images / images_per_shard))


def _gather_directories(parts: Sequence[Path], output_dir: Path) -> None:
    with atomic_directory(output_dir) as tmp:
        for part in parts:
            for entry in sorted(part.iterdir()):
                if entry.name.startswith("."):  # workflow bookkeeping (e.g. Snakemake's .snakemake_timestamp)
                    continue
                target = tmp / entry.name
                if target.exists():
                    raise InputError(f"{entry}: {entry.name} is also in another shard of {output_dir}")
                try:
                    os.link(entry, target)  # shards are temporary: share the file instead of copying
                except OSError:
                    shutil.copy2(entry, target)


def gather(parts: Sequence[str | os.PathLike], output: str | os.PathLike) -> None:
    """Join the outputs of a stage's shards into ``output`` (atomically).

    ``parts`` are all directories of per-image files (hard-linked into
    ``output``, copied across file systems; hidden files are skipped) or all HDF5 stores (per-image
    groups copied as stored; file attributes must agree). An image found in
    two parts is an error.
    """
    paths = [Path(part) for part in parts]
    if not paths:
        raise ValueError(f"{output}: nothing to gather")
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise InputError(f"{output}: shard output(s) missing: {missing}")
    if all(path.is_dir() for path in paths):
        _gather_directories(paths, Path(output))
    elif all(path.is_file() for path in paths):
        join_stores(paths, Path(output))
    else:
        raise InputError(f"{output}: shards mix directories and files: {[str(p) for p in paths]}")
