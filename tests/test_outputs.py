"""Outputs: readable under the user's umask, HDF5 stores marked complete, a full disk named and left clean."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from wsss_core.io import InputError, atomic_directory, write_label_map
from wsss_core.sharding import gather
from wsss_core.store import COMPLETE, LazyStore, read_store, write_store


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outputs_get_the_umask_modes_not_mkstemps(tmp_path: Path, umask_022) -> None:
    write_label_map(tmp_path / "labels.png", np.zeros((4, 4), np.uint8))
    with atomic_directory(tmp_path / "maps") as tmp:
        write_label_map(tmp / "a.png", np.zeros((4, 4), np.uint8))
    with write_store(tmp_path / "store.h5") as store:
        store.add("a", {"x": np.zeros((2, 2))})
    assert _mode(tmp_path / "labels.png") == 0o644
    assert _mode(tmp_path / "maps") == 0o755
    assert _mode(tmp_path / "maps" / "a.png") == 0o644
    assert _mode(tmp_path / "store.h5") == 0o644


def test_a_stricter_umask_is_kept(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        write_label_map(tmp_path / "labels.png", np.zeros((4, 4), np.uint8))
    finally:
        os.umask(old)
    assert _mode(tmp_path / "labels.png") == 0o600


def test_store_is_marked_complete_and_readers_refuse_one_without_the_mark(tmp_path: Path) -> None:
    with write_store(tmp_path / "done.h5") as store:
        store.set_attrs(classes=3)
        store.add("a", {"x": np.ones((2, 2))})
    with read_store(tmp_path / "done.h5") as reader:
        assert reader.attrs == {"classes": 3}
        assert reader.read("a", "x")["x"].sum() == 4
    with h5py.File(tmp_path / "partial.h5", "w") as handle:  # what a writer killed mid-way would leave
        handle.create_group("a").create_dataset("x", data=np.ones((2, 2)))
    for open_it in (lambda p: read_store(p).__enter__(), LazyStore, lambda p: gather([p], tmp_path / "joined.h5")):
        with pytest.raises(InputError, match=rf"partial\.h5: incomplete HDF5 (store|shard) \(no '{COMPLETE}' mark"):
            open_it(tmp_path / "partial.h5")
    assert not (tmp_path / "joined.h5").exists()


def test_joined_store_is_complete(tmp_path: Path) -> None:
    for name in ("0", "1"):
        with write_store(tmp_path / f"{name}.h5") as store:
            store.set_attrs(classes=3)
            store.add(f"id{name}", {"x": np.ones((2, 2))})
    gather([tmp_path / "0.h5", tmp_path / "1.h5"], tmp_path / "joined.h5")
    with h5py.File(tmp_path / "joined.h5") as handle:
        assert bool(handle.attrs[COMPLETE]) and sorted(handle) == ["id0", "id1"]


FULL_DISK = """
import resource, signal, sys
import numpy as np
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
from wsss_core.io import write_label_map, atomic_directory
from wsss_core.store import write_store
noise = np.random.default_rng(0).integers(0, 255, (400, 400), dtype=np.uint8)
what, target = sys.argv[1], sys.argv[2]
if what == "png":
    write_label_map(target, noise)
elif what == "directory":
    with atomic_directory(target) as tmp:
        write_label_map(tmp / "a.png", noise)
else:
    with write_store(target) as store:
        store.add("a", {"x": noise})
"""


@pytest.mark.parametrize("what, name", [("png", "labels.png"), ("directory", "maps"), ("store", "cams.h5")])
def test_a_full_disk_stops_with_one_line_and_leaves_nothing(tmp_path: Path, what: str, name: str) -> None:
    target = tmp_path / name
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FULL_DISK), what, str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0  # (HDF5 may crash at exit after a failed write: the error is printed first)
    expected = f"wsss_core.io.OutputError: {target}: could not be written: {os.strerror(errno.EFBIG)}; "
    assert [line for line in result.stderr.splitlines() if line.startswith(expected)], result.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []  # neither the final name nor a temporary sibling


def test_temporary_siblings_of_a_killed_writer_are_removed_by_the_next_write(tmp_path: Path) -> None:
    (tmp_path / ".labels.png.x1y2z3ab.part").write_bytes(b"half a PNG")
    (tmp_path / ".maps.k9k9k9k9.part").mkdir()
    (tmp_path / ".other.png.abcdefgh.part").write_bytes(b"another output's")
    write_label_map(tmp_path / "labels.png", np.zeros((4, 4), np.uint8))
    with atomic_directory(tmp_path / "maps"):
        pass
    assert sorted(path.name for path in tmp_path.iterdir()) == [".other.png.abcdefgh.part", "labels.png", "maps"]
