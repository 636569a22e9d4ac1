"""Dataset index, label-map I/O and HDF5 store: round trips and clear errors on bad input."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wsss_core.data.dataset import load_index
from wsss_core.io import InputError, read_gray, read_label_map, read_rgb, write_label_map
from wsss_core.store import read_store, write_store


def _write_root(root: Path, labels_csv: str) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "classes.txt").write_text("cat\ndog\n")
    (root / "image_labels.csv").write_text(labels_csv)
    Image.new("RGB", (4, 3)).save(root / "images" / "a.jpg")
    return root


def test_index_reads_classes_splits_and_labels(tmp_path):
    index = load_index(_write_root(tmp_path, "image_id,split,labels\na,train,2 1\nb,val,\n"))
    assert index.class_names == ("cat", "dog")
    assert index.ids("train") == ("a",) and index.ids("val") == ("b",)
    assert index.present_classes("a") == (1, 2)
    np.testing.assert_array_equal(index.multi_hot("a"), [1.0, 1.0])
    assert index.image_path("a").name == "a.jpg"
    assert read_rgb(index.image_path("a")).shape == (3, 4, 3)


@pytest.mark.parametrize(
    ("labels_csv", "message"),
    [
        ("image_id,split,labels\na,train,3\n", r"image_labels.csv:2: class index 3 of image 'a' is outside 1..2"),
        ("image_id,split,labels\na,train,x\n", r"image_labels.csv:2: labels must be class indices"),
        ("image_id,split\na,train\n", r"image_labels.csv: missing column\(s\) \['labels'\]"),
        ("image_id,split,labels\na,train,1\na,val,1\n", r"image_labels.csv:3: image id 'a' listed twice"),
    ],
)
def test_bad_label_files_name_the_file_and_the_problem(tmp_path, labels_csv, message):
    with pytest.raises(InputError, match=message):
        load_index(_write_root(tmp_path, labels_csv))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(InputError, match="classes.txt: file not found"):
        load_index(tmp_path)
    index = load_index(_write_root(tmp_path / "root", "image_id,split,labels\na,train,1\n"))
    with pytest.raises(InputError, match="no image file for id 'zz'"):
        index.image_path("zz")
    with pytest.raises(InputError, match="no image in split 'test'"):
        index.ids("test")
    with pytest.raises(InputError, match="nothing.png: file not found"):
        read_gray(tmp_path / "nothing.png")


def test_corrupt_image_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    with pytest.raises(InputError, match="broken.png: not a readable image"):
        read_label_map(broken)


def test_label_map_round_trip_uses_the_voc_palette(tmp_path):
    labels = np.array([[0, 1, 20], [255, 3, 0]], dtype=np.uint8)
    write_label_map(tmp_path / "l.png", labels)
    image = Image.open(tmp_path / "l.png")
    assert image.mode == "P" and image.getpalette()[3:6] == [128, 0, 0]
    np.testing.assert_array_equal(read_label_map(tmp_path / "l.png"), labels)
    assert [p.name for p in tmp_path.iterdir()] == ["l.png"]  # no temporary file left behind


def test_store_round_trip_and_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "s.h5"
    with write_store(path) as store:
        store.set_attrs(class_names=["cat"])
        store.add("a", {"pcam": np.full((1, 2, 2), 0.25)}, classes=np.array([1]))
    with read_store(path) as store:
        record = store.read("a", "pcam")
        assert record["pcam"].dtype == np.float32 and record["pcam"][0, 0, 0] == 0.25
        assert record["classes"].tolist() == [1]
        with pytest.raises(InputError, match="no entry for image 'b'"):
            store.read("b", "pcam")
    with pytest.raises(RuntimeError):
        with write_store(tmp_path / "t.h5") as store:
            store.add("a", {"x": np.zeros(2)})
            raise RuntimeError("killed")
    assert not (tmp_path / "t.h5").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]
