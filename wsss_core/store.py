"""HDF5 stores of per-image arrays (CAMs, network predictions).

One group per image id holding named datasets and attributes; float arrays
are stored as float16 with LZF compression. A store is written to a
temporary file and moved into place only when complete.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import h5py
import numpy as np

from wsss_core.io import InputError, atomic_path


class StoreWriter:
    """Add per-image groups to an open HDF5 file."""

    def __init__(self, handle: h5py.File) -> None:
        self._handle = handle

    def set_attrs(self, **attrs: Any) -> None:
        """Set file-level attributes (class names, parameters that produced the store)."""
        for key, value in attrs.items():
            self._handle.attrs[key] = value

    def add(self, image_id: str, arrays: dict[str, np.ndarray], **attrs: Any) -> None:
        """Store ``arrays`` (floats as float16) and ``attrs`` under group ``image_id``."""
        group = self._handle.create_group(image_id)
        for name, array in arrays.items():
            array = np.asarray(array)
            if np.issubdtype(array.dtype, np.floating):
                array = array.astype(np.float16)
            group.create_dataset(name, data=array, compression="lzf" if array.ndim >= 2 else None)
        for key, value in attrs.items():
            group.attrs[key] = value


@contextmanager
def write_store(path: str | os.PathLike) -> Iterator[StoreWriter]:
    """Create the store at ``path`` atomically; yields a :class:`StoreWriter`."""
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            yield StoreWriter(handle)


class StoreReader:
    """Read per-image groups from a store written by :func:`write_store`."""

    def __init__(self, handle: h5py.File, path: str | os.PathLike) -> None:
        self._handle = handle
        self._path = path

    @property
    def attrs(self) -> dict[str, Any]:
        """File-level attributes."""
        return dict(self._handle.attrs)

    def read(self, image_id: str, *names: str) -> dict[str, Any]:
        """Arrays ``names`` (float16 turned to float32) and all attributes of ``image_id``."""
        if image_id not in self._handle:
            raise InputError(f"{self._path}: no entry for image {image_id!r}")
        group = self._handle[image_id]
        out: dict[str, Any] = dict(group.attrs)
        for name in names:
            if name not in group:
                raise InputError(f"{self._path}: image {image_id!r} has no array {name!r}")
            array = group[name][()]
            out[name] = array.astype(np.float32) if array.dtype == np.float16 else array
        return out


@contextmanager
def read_store(path: str | os.PathLike) -> Iterator[StoreReader]:
    """Open the store at ``path`` for reading, with a clear error if it is not one."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: HDF5 store not found")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path}: not a readable HDF5 file ({err})") from err
    with handle:
        yield StoreReader(handle, path)
