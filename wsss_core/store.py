"""HDF5 stores of per-image arrays (CAMs, network predictions): the one place that knows their layout.

One group per image id holding named datasets and attributes; float arrays
are stored as float16, maps (2-D and up) compressed with LZF after HDF5's
byte shuffle (smaller and faster to write than LZF alone, see BENCHMARKS.md).
A (C,H,W) map can be stored with only some of its channels (dataset
attribute ``channels``: the prediction keeps the classes the later rule
reads); readers get the whole map back, the other channels zero. A store is written to a
temporary file and moved into place only when complete; the file attribute
``COMPLETE`` is written last, and readers refuse a store without it (one
copied while incomplete, or written by a run that was killed outside the
atomic move). The shards of a per-image stage write one store each;
:func:`join_stores` joins them.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import h5py
import numpy as np

from wsss_core.io import InputError, atomic_path

COMPLETE = "wsss_complete"  # file attribute set when every group has been written


class StoreWriter:
    """Add per-image groups to an open HDF5 file."""

    def __init__(self, handle: h5py.File) -> None:
        self._handle = handle
        self.failures: list[BaseException] = []  # write errors HDF5 reports only when freeing its objects

    def _check(self) -> None:
        if self.failures:
            raise self.failures[0]

    def set_attrs(self, **attrs: Any) -> None:
        """Set file-level attributes (class names, parameters that produced the store)."""
        for key, value in attrs.items():
            self._handle.attrs[key] = value

    def add(
        self,
        image_id: str,
        arrays: dict[str, np.ndarray],
        *,
        channels: Mapping[str, Sequence[int]] | None = None,
        **attrs: Any,
    ) -> None:
        """Store ``arrays`` (floats as float16) and ``attrs`` under group ``image_id``.

        ``channels[name]``: store only these channels of the (C,H,W) map
        ``name`` (:meth:`StoreReader.read` fills the others with zeros).
        Raises the write error (e.g. a full disk) as soon as HDF5 has reported one.
        """
        self._check()
        channels = channels or {}
        group = self._handle.create_group(image_id)
        for name, array in arrays.items():
            array, total = np.asarray(array), None
            if name in channels:
                array, total = array[np.asarray(channels[name], dtype=np.int64)], len(array)
            if np.issubdtype(array.dtype, np.floating):
                array = array.astype(np.float16, copy=False)
            if array.ndim >= 2:
                dataset = group.create_dataset(name, data=array, compression="lzf", shuffle=True)
            else:
                dataset = group.create_dataset(name, data=array)
            if total is not None:
                dataset.attrs["channels"], dataset.attrs["num_channels"] = np.asarray(channels[name]), total
        for key, value in attrs.items():
            group.attrs[key] = value
        self._check()


@contextmanager
def _collect_write_errors(writer: StoreWriter) -> Iterator[None]:
    """Record the OSErrors that h5py can only print (raised while freeing an object) on ``writer``."""
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, OSError):
            writer.failures.append(unraisable.exc_value)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous


@contextmanager
def write_store(path: str | os.PathLike) -> Iterator[StoreWriter]:
    """Create the store at ``path`` atomically; yields a :class:`StoreWriter`.

    The completion mark is set and the file flushed last. After a failed
    write (a full disk) the HDF5 file is not closed, as the library can crash
    in its close then; the error propagates and the temporary file is removed.
    """
    with atomic_path(path) as tmp:
        handle = h5py.File(tmp, "w")
        writer = StoreWriter(handle)
        with _collect_write_errors(writer):
            yield writer
            writer._check()
            handle.attrs[COMPLETE] = True
            handle.flush()
            writer._check()
        handle.close()


class StoreReader:
    """Read per-image groups from a store written by :func:`write_store`."""

    def __init__(self, handle: h5py.File, path: str | os.PathLike) -> None:
        self._handle = handle
        self._path = path

    @property
    def attrs(self) -> dict[str, Any]:
        """File-level attributes (without the completion mark)."""
        return {key: value for key, value in self._handle.attrs.items() if key != COMPLETE}

    def read(self, image_id: str, *names: str) -> dict[str, Any]:
        """Arrays ``names`` (float16 turned to float32, left-out channels as zeros) and all attributes of ``image_id``."""
        if image_id not in self._handle:
            raise InputError(f"{self._path}: no entry for image {image_id!r}")
        group = self._handle[image_id]
        out: dict[str, Any] = dict(group.attrs)
        for name in names:
            if name not in group:
                raise InputError(f"{self._path}: image {image_id!r} has no array {name!r}")
            dataset = group[name]
            array = dataset[()]
            array = array.astype(np.float32) if array.dtype == np.float16 else array
            if "channels" in dataset.attrs:
                full = np.zeros((int(dataset.attrs["num_channels"]), *array.shape[1:]), array.dtype)
                full[dataset.attrs["channels"]] = array
                array = full
            out[name] = array
        return out


def _open(path: str | os.PathLike, what: str = "HDF5 store") -> h5py.File:
    """Open a store for reading; an error naming ``path`` if it is missing, unreadable or incomplete."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: {what} not found")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 file ({err})") from err
    if not handle.attrs.get(COMPLETE, False):
        handle.close()
        raise InputError(
            f"{path}: incomplete {what} (no {COMPLETE!r} mark: its writer did not finish); delete it and re-run"
        )
    return handle


@contextmanager
def read_store(path: str | os.PathLike) -> Iterator[StoreReader]:
    """Open the store at ``path`` for reading, with a clear error if it is not one."""
    with _open(path) as handle:
        yield StoreReader(handle, path)


class LazyStore:
    """A store to read in whichever process first uses it (the workers of a per-image stage).

    Checks that the file exists when made; opens it on the first :meth:`read`,
    so an instance created before worker processes are forked holds no HDF5
    handle that the workers would share.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        _open(path).close()  # missing / incomplete stores fail here, in the parent process
        self.path = path
        self._reader: StoreReader | None = None

    def read(self, image_id: str, *names: str) -> dict[str, Any]:
        """As :meth:`StoreReader.read`."""
        if self._reader is None:
            self._reader = StoreReader(_open(self.path), self.path)
        return self._reader.read(image_id, *names)


def _same_attrs(first: h5py.AttributeManager, other: h5py.AttributeManager) -> bool:
    """Whether two files carry the same attributes (the completion mark aside)."""
    keys = set(first) - {COMPLETE}
    return keys == set(other) - {COMPLETE} and all(np.array_equal(first[key], other[key]) for key in keys)


def join_stores(parts: Sequence[Path], output_store: Path) -> None:
    """Copy the per-image groups of the stores ``parts`` into one store ``output_store`` (atomically).

    Groups are copied as stored; the file attributes of every part must agree,
    every part must be complete, and an image found in two parts is an error.
    """
    with atomic_path(output_store) as tmp, h5py.File(tmp, "w") as joined:
        for number, part in enumerate(parts):
            with _open(part, "HDF5 shard") as source:
                if number == 0:
                    joined.attrs.update({key: value for key, value in source.attrs.items() if key != COMPLETE})
                    joined.attrs[COMPLETE] = False
                elif not _same_attrs(joined.attrs, source.attrs):
                    raise InputError(f"{part}: file attributes differ from those of {parts[0]}")
                for image_id in source:
                    if image_id in joined:
                        raise InputError(f"{part}: image {image_id!r} is also in another shard of {output_store}")
                    source.copy(source[image_id], joined, name=image_id)
        joined.attrs[COMPLETE] = True
        joined.flush()
