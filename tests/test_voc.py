"""PASCAL VOC indexing: labels from masks and XML, files.csv, holdout, clear errors."""

import csv
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wsss_core.data.dataset import load_index
from wsss_core.data.voc import VOC_CLASSES, index_voc
from wsss_core.io import InputError, read_label_map, read_rgb, write_label_map

SPLITS = {"train": "ImageSets/Segmentation/train_aug.txt", "val": "ImageSets/Segmentation/val.txt"}
WIDTH, HEIGHT = 8, 6


def _image(root: Path, image_id: str) -> None:
    (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (WIDTH, HEIGHT), (90, 120, 150)).save(root / "JPEGImages" / f"{image_id}.jpg")


def _mask(root: Path, image_id: str, values: dict[tuple[int, int], int]) -> None:
    labels = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    for (row, col), value in values.items():
        labels[row, col] = value
    (root / "SegmentationClassAug").mkdir(parents=True, exist_ok=True)
    write_label_map(root / "SegmentationClassAug" / f"{image_id}.png", labels)


def _xml(root: Path, image_id: str, objects: list[tuple[str, int]]) -> None:
    body = "".join(
        f"<object><name>{name}</name><difficult>{difficult}</difficult>"
        "<part><name>head</name></part></object>"
        for name, difficult in objects
    )
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{image_id}.xml").write_text(
        f"<annotation><filename>{image_id}.jpg</filename>{body}</annotation>"
    )


def _lists(root: Path, train: str, val: str) -> None:
    (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
    (root / "ImageSets" / "Segmentation" / "train_aug.txt").write_text(train)
    (root / "ImageSets" / "Segmentation" / "val.txt").write_text(val)


@pytest.fixture()
def voc_root(tmp_path: Path) -> Path:
    """Four images: three with masks (one in val), one (train) with only an XML annotation."""
    root = tmp_path / "VOC2012"
    for image_id in ("2007_000001", "2007_000002", "2007_000003", "2007_000004"):
        _image(root, image_id)
    _mask(root, "2007_000001", {(0, 0): 15, (1, 1): 255})  # person, plus an ignore pixel
    _mask(root, "2007_000002", {(2, 2): 12, (3, 3): 8, (4, 4): 12})  # dog, cat
    _mask(root, "2007_000003", {(5, 7): 20})  # tvmonitor
    _xml(root, "2007_000004", [("horse", 0), ("person", 1), ("horse", 0)])  # difficult person kept
    # A mask next to an XML: the mask wins.
    _xml(root, "2007_000001", [("cow", 0)])
    _lists(
        root,
        "/JPEGImages/2007_000001.jpg /SegmentationClassAug/2007_000001.png\n"
        "/JPEGImages/2007_000002.jpg /SegmentationClassAug/2007_000002.png\n"
        "\n"
        "/JPEGImages/2007_000004.jpg /SegmentationClassAug/2007_000004.png\n",
        "2007_000003\n",
    )
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_voc_classes_are_the_twenty_standard_names():
    assert len(VOC_CLASSES) == 20
    assert VOC_CLASSES[0] == "aeroplane" and VOC_CLASSES[14] == "person" and VOC_CLASSES[-1] == "tvmonitor"


def test_index_voc_labels_files_and_load_index(voc_root, tmp_path):
    out = tmp_path / "index"
    index_voc(voc_root, out, splits=SPLITS)

    assert (out / "classes.txt").read_text().splitlines() == list(VOC_CLASSES)
    labels = {row["image_id"]: (row["split"], row["labels"]) for row in _rows(out / "image_labels.csv")}
    assert labels == {
        "2007_000001": ("train", "15"),
        "2007_000002": ("train", "8 12"),
        "2007_000004": ("train", "13 15"),
        "2007_000003": ("val", "20"),
    }

    files = {row["image_id"]: row for row in _rows(out / "files.csv")}
    for image_id in ("2007_000001", "2007_000002", "2007_000003"):
        assert Path(files[image_id]["image"]).is_absolute()
        assert Path(files[image_id]["image"]) == (voc_root / "JPEGImages" / f"{image_id}.jpg").resolve()
        assert Path(files[image_id]["mask"]) == (voc_root / "SegmentationClassAug" / f"{image_id}.png").resolve()
    assert files["2007_000004"]["mask"] == ""

    index = load_index(out)
    assert index.class_names == VOC_CLASSES
    assert index.ids("train") == ("2007_000001", "2007_000002", "2007_000004")
    assert index.ids("val") == ("2007_000003",)
    assert index.present_classes("2007_000002") == (8, 12)
    assert read_rgb(index.image_path("2007_000004")).shape == (HEIGHT, WIDTH, 3)
    assert read_label_map(index.mask_path("2007_000003"))[5, 7] == 20
    with pytest.raises(InputError, match="has no ground-truth mask"):
        index.mask_path("2007_000004")


def test_test_split_may_be_unlabelled_but_not_others(voc_root, tmp_path):
    _image(voc_root, "2008_000009")
    (voc_root / "ImageSets" / "Segmentation" / "test.txt").write_text("2008_000009\n")
    index_voc(voc_root, tmp_path / "index", splits={**SPLITS, "test": "ImageSets/Segmentation/test.txt"})
    index = load_index(tmp_path / "index")
    assert index.ids("test") == ("2008_000009",) and index.present_classes("2008_000009") == ()

    message = r"'2008_000009'.*SegmentationClassAug/2008_000009\.png.*Annotations/2008_000009\.xml"
    with pytest.raises(InputError, match=message):
        index_voc(voc_root, tmp_path / "bad", splits={**SPLITS, "extra": "ImageSets/Segmentation/test.txt"})
    assert not (tmp_path / "bad").exists()


def test_absolute_list_path_and_custom_directories(voc_root, tmp_path):
    (voc_root / "SegmentationClassAug").rename(voc_root / "SegmentationClass")
    list_file = tmp_path / "ids.txt"
    list_file.write_text("2007_000002 extra columns\n")
    index_voc(voc_root, tmp_path / "index", splits={"val": list_file}, mask_dir="SegmentationClass")
    index = load_index(tmp_path / "index")
    assert index.ids("val") == ("2007_000002",)
    assert index.mask_path("2007_000002").parent.name == "SegmentationClass"


def _many(root: Path, count: int) -> list[str]:
    ids = [f"2009_{number:06d}" for number in range(count)]
    for number, image_id in enumerate(ids):
        _image(root, image_id)
        _mask(root, image_id, {(0, 0): 1 + number % 20})
    return ids


def test_holdout_is_exact_and_independent_of_list_order(tmp_path):
    root = tmp_path / "VOC2012"
    ids = _many(root, 11)
    expected = set(sorted(ids, key=lambda i: hashlib.sha1(i.encode()).hexdigest())[:3])  # round(0.3 * 11) = 3
    holdout = {"from": "train", "to": "val", "fraction": 0.3}
    results = []
    for name, order in (("forward", ids), ("reversed", ids[::-1])):
        _lists(root, "".join(f"{i}\n" for i in order), "")
        index_voc(root, tmp_path / name, splits={"train": "ImageSets/Segmentation/train_aug.txt"}, holdout=holdout)
        index = load_index(tmp_path / name)
        assert len(index.ids("train")) == 8 and len(index.ids("val")) == 3
        assert set(index.ids("val")).isdisjoint(index.ids("train"))
        results.append(set(index.ids("val")))
    assert results[0] == results[1] == expected

    _lists(root, "".join(f"{i}\n" for i in ids), "")
    for fraction, moved in ((0.0, 0), (1.0, 11)):
        index_voc(
            root,
            tmp_path / "edge",
            splits={"train": "ImageSets/Segmentation/train_aug.txt"},
            holdout={"from": "train", "to": "val", "fraction": fraction},
        )
        assert sum(row["split"] == "val" for row in _rows(tmp_path / "edge" / "image_labels.csv")) == moved

    with pytest.raises(InputError, match="holdout: split 'nope'"):
        index_voc(root, tmp_path / "x", splits={"train": "ImageSets/Segmentation/train_aug.txt"},
                  holdout={"from": "nope", "to": "val", "fraction": 0.5})
    with pytest.raises(InputError, match=r"fraction must be in \[0, 1\]"):
        index_voc(root, tmp_path / "x", splits={"train": "ImageSets/Segmentation/train_aug.txt"},
                  holdout={"from": "train", "to": "val", "fraction": 1.5})


def test_bad_mask_value_is_named(voc_root, tmp_path):
    _mask(voc_root, "2007_000002", {(2, 2): 21})
    with pytest.raises(InputError, match=r"2007_000002\.png: mask value\(s\) \[21\]"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)
    assert not (tmp_path / "index").exists()


def test_rgb_mask_and_wrong_size_mask_are_rejected(voc_root, tmp_path):
    mask_file = voc_root / "SegmentationClassAug" / "2007_000002.png"
    Image.new("RGB", (WIDTH, HEIGHT)).save(mask_file)
    with pytest.raises(InputError, match=r"2007_000002\.png: a label map must be a palette or grayscale PNG"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)
    Image.new("L", (WIDTH + 1, HEIGHT)).save(mask_file)
    with pytest.raises(InputError, match=r"2007_000002\.png: mask is 9x6, image 2007_000002\.jpg is 8x6"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)


def test_missing_image_is_named(voc_root, tmp_path):
    (voc_root / "JPEGImages" / "2007_000003.jpg").unlink()
    with pytest.raises(InputError, match=r"JPEGImages/2007_000003\.jpg: image of '2007_000003'"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)


def test_train_id_without_mask_or_xml_is_an_error(voc_root, tmp_path):
    (voc_root / "Annotations" / "2007_000004.xml").unlink()
    with pytest.raises(InputError, match=r"'2007_000004' \(split 'train'\) has neither a mask .* nor an annotation"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)


def test_list_and_xml_errors(voc_root, tmp_path):
    with pytest.raises(InputError, match=r"missing\.txt: id-list file not found"):
        index_voc(voc_root, tmp_path / "index", splits={"train": "missing.txt"})
    with pytest.raises(InputError, match=r"already listed in split 'train'"):
        index_voc(voc_root, tmp_path / "index", splits={"train": SPLITS["train"], "val": SPLITS["train"]})
    _xml(voc_root, "2007_000004", [("unicorn", 0)])
    with pytest.raises(InputError, match=r"2007_000004\.xml: object name 'unicorn' is not a PASCAL VOC class"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)
    (voc_root / "Annotations" / "2007_000004.xml").write_text("<annotation>")
    with pytest.raises(InputError, match=r"2007_000004\.xml: not a valid XML annotation"):
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)


def _xml_with_boxes(root: Path, image_id: str, objects: list[tuple[str, str, str, str, str]]) -> None:
    body = "".join(
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
        for name, xmin, ymin, xmax, ymax in objects
    )
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / f"{image_id}.xml").write_text(f"<annotation>{body}</annotation>")


def test_boxes_csv_from_xml_bndboxes(voc_root, tmp_path):
    from wsss_core.data.dataset import read_boxes

    # an image with a mask and an XML: the mask gives the labels, the XML the boxes
    _xml_with_boxes(voc_root, "2007_000002", [("dog", "1", "1", "8", "6"), ("cat", "3", "2", "5", "4")])
    # XML only; a one-pixel box and non-integer coordinates
    _xml_with_boxes(voc_root, "2007_000004", [("horse", "2", "3", "2", "3"), ("person", "1.0", "2", "7.4", "6")])
    out = tmp_path / "index"
    index_voc(voc_root, out, splits=SPLITS)

    with (out / "boxes.csv").open(newline="") as handle:
        assert handle.readline().strip() == "image_id,class,x0,y0,x1,y1"
    rows = [tuple(row.values()) for row in _rows(out / "boxes.csv")]
    # 1-based inclusive (xmin..xmax) -> 0-based, x1 / y1 exclusive; 2007_000001's XML objects have no
    # <bndbox>, 2007_000003 has no XML
    assert rows == [
        ("2007_000002", "12", "0", "0", "8", "6"),  # the whole 8x6 image
        ("2007_000002", "8", "2", "1", "5", "4"),
        ("2007_000004", "13", "1", "2", "2", "3"),
        ("2007_000004", "15", "0", "1", "7", "6"),
    ]
    assert read_boxes(out / "boxes.csv", len(VOC_CLASSES))["2007_000004"] == [(13, 1, 2, 2, 3), (15, 0, 1, 7, 6)]
    assert load_index(out).present_classes("2007_000004") == (13, 15)

    _xml_with_boxes(voc_root, "2007_000004", [("horse", "2", "3", "x", "3")])
    with pytest.raises(InputError, match=r"2007_000004\.xml: a 'horse' <bndbox> needs numeric"):
        index_voc(voc_root, tmp_path / "bad", splits=SPLITS)
    _xml_with_boxes(voc_root, "2007_000004", [("horse", "5", "3", "4", "3")])
    with pytest.raises(InputError, match=r"2007_000004\.xml: empty 'horse' box"):
        index_voc(voc_root, tmp_path / "bad", splits=SPLITS)
    assert not (tmp_path / "bad").exists()


def test_every_bad_image_is_named_in_one_run(voc_root, tmp_path):
    """Library call: all per-image problems in one error; rule mode: recorded, and listed by the input check."""
    from wsss_core.data.dataset import PROBLEMS_FILE
    from wsss_core.data.validation import check_shard, finish_validation
    from wsss_core.sharding import Shard

    _mask(voc_root, "2007_000002", {(2, 2): 21})  # value out of range (found by the index)
    (voc_root / "JPEGImages" / "2007_000003.jpg").unlink()  # missing image (found by the index)
    jpeg = (voc_root / "JPEGImages" / "2007_000004.jpg").read_bytes()  # XML only: the index reads no pixel of it
    (voc_root / "JPEGImages" / "2007_000004.jpg").write_bytes(jpeg[: len(jpeg) // 2])  # truncated (found by decoding)
    train_list = voc_root / SPLITS["train"]
    train_list.write_text(train_list.read_text() + "2007_000001\n")  # listed twice (found by the index)
    with pytest.raises(InputError, match=r"3 problem\(s\) while indexing") as raised:
        index_voc(voc_root, tmp_path / "index", splits=SPLITS)
    assert "train_aug.txt:5: image id '2007_000001' listed twice" in str(raised.value)
    assert "2007_000002.png: mask value(s) [21]" in str(raised.value)
    assert "2007_000003.jpg: image of '2007_000003'" in str(raised.value)
    assert not (tmp_path / "index").exists()

    index_voc(voc_root, tmp_path / "index", splits=SPLITS, record_problems=True)
    assert len((tmp_path / "index" / PROBLEMS_FILE).read_text().splitlines()) == 3
    assert [row["image_id"] for row in _rows(tmp_path / "index" / "image_labels.csv")] == ["2007_000001", "2007_000004"]
    check_shard(tmp_path / "index", tmp_path / "shard.json", train_split="train", eval_split="val", shard=Shard.parse("0-of-1"))
    report = tmp_path / "validation.txt"
    with pytest.raises(InputError, match=r"5 problem\(s\) in the dataset"):
        finish_validation(tmp_path / "index", [tmp_path / "shard.json"], report, tmp_path / "validated",
                          train_split="train", eval_split="val")  # fmt: skip
    lines = report.read_text().splitlines()
    assert "listed twice" in lines[0]
    assert "2007_000002.png: mask value(s) [21]" in lines[1] and "2007_000003.jpg: image of" in lines[2]
    assert "no image in split 'val'" in lines[3]  # its only image is missing
    assert "2007_000004.jpg: not a readable image" in lines[4]
    assert not (tmp_path / "validated").exists()
