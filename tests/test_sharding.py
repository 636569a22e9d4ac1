"""Shard membership, shard counts, the gather step and the split sizes that set the default count."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from wsss_core.data.split_size import split_size_hint
from wsss_core.io import InputError, read_gray, write_gray
from wsss_core.sharding import ALL_IMAGES, Shard, auto_shard_count, gather, shard_names
from wsss_core.store import read_store, write_store

IDS = [f"2008_{n:06d}" for n in range(500)]


def test_shards_partition_the_ids_and_keep_their_order() -> None:
    shards = [Shard(index, 4) for index in range(4)]
    parts = [shard.select(IDS) for shard in shards]
    assert sorted(sum(parts, ())) == sorted(IDS)
    assert all(list(part) == sorted(part, key=IDS.index) for part in parts)
    assert all(90 <= len(part) <= 160 for part in parts), [len(p) for p in parts]  # a hash, not a block split
    assert ALL_IMAGES.select(IDS) == tuple(IDS)


def test_adding_images_does_not_move_existing_ones() -> None:
    shard = Shard(1, 4)
    before = shard.select(IDS[:300])
    after = shard.select(["new_image_a", *IDS[:300], "new_image_b"])
    assert set(before) <= set(after)
    assert set(after) - set(before) <= {"new_image_a", "new_image_b"}


def test_shard_names_round_trip_and_bad_names_fail() -> None:
    assert shard_names(3) == ["0-of-3", "1-of-3", "2-of-3"]
    assert Shard.parse("2-of-3") == Shard(2, 3)
    with pytest.raises(ValueError, match="3-of-3"):
        Shard.parse("3-of-3")
    with pytest.raises(ValueError, match="form"):
        Shard.parse("first")


def test_auto_shard_count() -> None:
    assert auto_shard_count(10582, 2000) == 6
    assert auto_shard_count(2000, 2000) == 1
    assert auto_shard_count(None, 2000) == 1
    with pytest.raises(ValueError):
        auto_shard_count(10, 0)


def _png_part(root: Path, ids: list[str]) -> Path:
    root.mkdir(parents=True)
    for value, image_id in enumerate(ids):
        write_gray(root / f"{image_id}.png", np.full((4, 5), value, np.uint8))
    return root


def test_gather_directories(tmp_path: Path) -> None:
    parts = [_png_part(tmp_path / "a", ["x", "y"]), _png_part(tmp_path / "b", []), _png_part(tmp_path / "c", ["z"])]
    for part in parts:
        (part / ".snakemake_timestamp").touch()
    gather(parts, tmp_path / "joined")
    assert sorted(p.name for p in (tmp_path / "joined").iterdir()) == ["x.png", "y.png", "z.png"]
    assert read_gray(tmp_path / "joined" / "y.png").max() == 1
    _png_part(tmp_path / "d", ["y"])
    with pytest.raises(InputError, match="y.png is also in another shard"):
        gather([tmp_path / "a", tmp_path / "d"], tmp_path / "twice")
    assert not (tmp_path / "twice").exists()


def _store_part(path: Path, ids: list[str], names: list[str]) -> Path:
    with write_store(path) as store:
        store.set_attrs(class_names=names)
        for number, image_id in enumerate(ids):
            store.add(image_id, {"pcam": np.full((2, 3, 3), number / 4)}, classes=np.array([1, 3]))
    return path


def test_gather_stores(tmp_path: Path) -> None:
    parts = [_store_part(tmp_path / "0.h5", ["a", "b"], ["cat", "dog"]), _store_part(tmp_path / "1.h5", ["c"], ["cat", "dog"])]
    gather(parts, tmp_path / "joined.h5")
    with read_store(tmp_path / "joined.h5") as store:
        assert list(store.attrs["class_names"]) == ["cat", "dog"]
        record = store.read("b", "pcam")
        assert record["pcam"].shape == (2, 3, 3) and np.allclose(record["pcam"], 0.25)
        assert list(record["classes"]) == [1, 3]
    with h5py.File(tmp_path / "joined.h5") as handle:
        assert sorted(handle) == ["a", "b", "c"]
        assert handle["a/pcam"].compression == "lzf"

    _store_part(tmp_path / "other.h5", ["d"], ["cat", "bird"])
    with pytest.raises(InputError, match="attributes differ"):
        gather([parts[0], tmp_path / "other.h5"], tmp_path / "mixed.h5")
    with pytest.raises(InputError, match="'a' is also in another shard"):
        gather([parts[0], parts[0]], tmp_path / "twice.h5")
    with pytest.raises(InputError, match="missing"):
        gather([parts[0], tmp_path / "absent.h5"], tmp_path / "absent_joined.h5")
    assert not any((tmp_path / name).exists() for name in ("mixed.h5", "twice.h5", "absent_joined.h5"))


def test_split_size_hints(tmp_path: Path) -> None:
    assert split_size_hint("generated", None, {"generator": {"num_train": 400}}, "train") == 400
    (tmp_path / "ImageSets").mkdir()
    (tmp_path / "ImageSets" / "train_aug.txt").write_text("2007_000032\n\n2007_000039\n")
    assert split_size_hint("voc", tmp_path, {"splits": {"train_aug": "ImageSets/train_aug.txt"}}, "train_aug") == 2
    assert split_size_hint("voc", tmp_path, {"splits": {}}, "train_aug") is None
    (tmp_path / "train2014").mkdir()
    for name in ("a.jpg", "b.JPG", "notes.txt"):
        (tmp_path / "train2014" / name).touch()
    assert split_size_hint("coco", tmp_path, {"splits": {"train": ["train2014", "x.json"]}}, "train") == 2
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "image_labels.csv").write_text("image_id,split,labels\na,train,1\nb,val,2\nc,train,1 2\n")
    assert split_size_hint("folder", tmp_path, {}, "train") == 2
    assert split_size_hint("voc", None, {}, "train") is None
