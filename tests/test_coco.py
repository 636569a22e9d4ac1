"""MS COCO indexing: semantic masks from instances, caching, labels and clear errors."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pycocotools")
from pycocotools import mask as mask_utils  # noqa: E402

from wsss_core.data.coco import COCO_CATEGORY_IDS, index_coco  # noqa: E402
from wsss_core.data.dataset import load_index  # noqa: E402
from wsss_core.io import IGNORE_LABEL, InputError, read_label_map, write_label_map  # noqa: E402

WIDTH, HEIGHT = 20, 16
SPLITS = {
    "train": ("train2014", "annotations/instances_train2014.json"),
    "val": ("val2014", "annotations/instances_val2014.json"),
}
CATEGORIES = [  # deliberately unsorted, non-contiguous ids: 1 -> class 1, 3 -> 2, 18 -> 3
    {"id": 18, "name": "dog", "supercategory": "animal"},
    {"id": 1, "name": "person", "supercategory": "person"},
    {"id": 3, "name": "car", "supercategory": "vehicle"},
]
PERSON, CAR, DOG = 1, 2, 3


def _box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def _uncompressed_rle(region: np.ndarray) -> dict:
    """Column-major run lengths starting with a run of zeros, as COCO crowd annotations store them."""
    flat = region.flatten(order="F").astype(np.uint8)
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return {"size": [int(region.shape[0]), int(region.shape[1])], "counts": counts}


def _write_split(root: Path, folder: str, json_name: str, images: list[dict], annotations: list[dict]) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for image in images:
        Image.new("RGB", (image["width"], image["height"]), (30, 60, 90)).save(root / folder / image["file_name"])
    (root / "annotations").mkdir(exist_ok=True)
    payload = {"images": images, "annotations": annotations, "categories": CATEGORIES}
    (root / "annotations" / json_name).write_text(json.dumps(payload))


def _image(number: int, prefix: str = "train") -> dict:
    return {"id": number, "file_name": f"COCO_{prefix}2014_{number:012d}.jpg", "height": HEIGHT, "width": WIDTH}


@pytest.fixture()
def coco_root(tmp_path: Path) -> Path:
    root = tmp_path / "coco"
    crowd = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    crowd[0:6, 0:10] = 1  # a crowd of people over the top-left corner
    small_dog = np.zeros((HEIGHT, WIDTH), dtype=np.uint8, order="F")
    small_dog[12:15, 15:19] = 1
    compressed = mask_utils.encode(np.asfortranarray(small_dog))
    compressed["counts"] = compressed["counts"].decode("ascii")
    train_annotations = [
        # Image 9: a small person listed *before* the large dog that contains it.
        {"id": 1, "image_id": 9, "category_id": 1, "iscrowd": 0, "segmentation": _box(7, 5, 12, 10), "area": 25.0},
        {"id": 2, "image_id": 9, "category_id": 18, "iscrowd": 0, "segmentation": _box(2, 2, 18, 14), "area": 192.0},
        # Image 25: a car partly under a crowd of people, and a dog as compressed RLE.
        {"id": 3, "image_id": 25, "category_id": 1, "iscrowd": 1, "segmentation": _uncompressed_rle(crowd),
         "area": 60.0},
        {"id": 4, "image_id": 25, "category_id": 3, "iscrowd": 0, "segmentation": _box(5, 3, 15, 9), "area": 60.0},
        {"id": 5, "image_id": 25, "category_id": 18, "iscrowd": 0, "segmentation": compressed, "area": 12.0},
    ]
    # Image 30 has no annotation at all.
    _write_split(root, "train2014", "instances_train2014.json", [_image(30), _image(9), _image(25)],
                 train_annotations)
    val_annotations = [
        {"id": 6, "image_id": 42, "category_id": 3, "iscrowd": 0, "segmentation": _box(1, 1, 8, 8), "area": 49.0},
    ]
    _write_split(root, "val2014", "instances_val2014.json", [_image(42, "val")], val_annotations)
    return root


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_coco_category_ids_are_the_80_standard_ids():
    assert len(COCO_CATEGORY_IDS) == 80 == len(set(COCO_CATEGORY_IDS))
    assert list(COCO_CATEGORY_IDS) == sorted(COCO_CATEGORY_IDS)
    assert COCO_CATEGORY_IDS[0] == 1 and COCO_CATEGORY_IDS[-1] == 90
    assert not {12, 26, 29, 30, 45, 66, 68, 69, 71, 83} & set(COCO_CATEGORY_IDS)


def test_index_coco_masks_labels_and_files(coco_root, tmp_path):
    cache = tmp_path / "cache"
    out = tmp_path / "index"
    index_coco(coco_root, out, splits=SPLITS, mask_cache=cache)

    assert (out / "classes.txt").read_text().splitlines() == ["person", "car", "dog"]
    rows = _rows(out / "image_labels.csv")
    assert [(row["image_id"], row["split"], row["labels"]) for row in rows] == [
        ("COCO_train2014_000000000009", "train", f"{PERSON} {DOG}"),
        ("COCO_train2014_000000000025", "train", f"{CAR} {DOG}"),  # the person is only a crowd
        ("COCO_train2014_000000000030", "train", ""),
        ("COCO_val2014_000000000042", "val", f"{CAR}"),
    ]

    first = read_label_map(cache / "train" / "COCO_train2014_000000000009.png")
    assert first.shape == (HEIGHT, WIDTH)
    assert first[7, 9] == PERSON  # the smaller person is painted over the dog
    assert first[3, 3] == DOG and first[12, 16] == DOG
    assert first[0, 0] == 0 and first[15, 19] == 0

    second = read_label_map(cache / "train" / "COCO_train2014_000000000025.png")
    assert second[1, 1] == IGNORE_LABEL  # crowd only
    assert second[5, 8] == CAR  # crowd covered by a car instance
    assert second[7, 12] == CAR and second[13, 16] == DOG
    assert second[12, 2] == 0
    assert set(np.unique(second)) == {0, CAR, DOG, IGNORE_LABEL}

    empty = read_label_map(cache / "train" / "COCO_train2014_000000000030.png")
    assert empty.shape == (HEIGHT, WIDTH) and not empty.any()

    files = {row["image_id"]: row for row in _rows(out / "files.csv")}
    image_file = Path(files["COCO_val2014_000000000042"]["image"])
    assert image_file.is_absolute() and image_file == (coco_root / "val2014" / f"{image_file.name}").resolve()
    assert Path(files["COCO_val2014_000000000042"]["mask"]) == (
        cache / "val" / "COCO_val2014_000000000042.png"
    ).resolve()

    index = load_index(out)
    assert index.class_names == ("person", "car", "dog")
    assert index.ids("val") == ("COCO_val2014_000000000042",)
    assert index.present_classes("COCO_train2014_000000000030") == ()
    assert index.image_path("COCO_train2014_000000000009").is_file()
    assert read_label_map(index.mask_path("COCO_train2014_000000000009"))[7, 9] == PERSON


def test_cached_masks_are_reused_not_rebuilt(coco_root, tmp_path):
    cache = tmp_path / "cache"
    index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=cache)
    pngs = sorted(cache.rglob("*.png"))
    assert len(pngs) == 4
    before = {path: (path.stat().st_mtime_ns, path.stat().st_ino) for path in pngs}

    index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=cache)
    assert {path: (path.stat().st_mtime_ns, path.stat().st_ino) for path in pngs} == before

    # A cached mask of the right size is trusted as is; one of the wrong size is rebuilt.
    tampered = cache / "train" / "COCO_train2014_000000000009.png"
    write_label_map(tampered, np.zeros((HEIGHT, WIDTH), dtype=np.uint8))
    resized = cache / "val" / "COCO_val2014_000000000042.png"
    write_label_map(resized, np.zeros((HEIGHT + 1, WIDTH), dtype=np.uint8))
    index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=cache)
    index = load_index(tmp_path / "index")
    assert index.present_classes("COCO_train2014_000000000009") == ()
    assert index.present_classes("COCO_val2014_000000000042") == (CAR,)
    assert read_label_map(resized).shape == (HEIGHT, WIDTH)


def test_missing_inputs_are_named(coco_root, tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(InputError, match=r"instances_test2014\.json: instances JSON of split 'test' not found"):
        index_coco(coco_root, tmp_path / "index", splits={"test": ("test2014", "annotations/instances_test2014.json")},
                   mask_cache=cache)
    with pytest.raises(InputError, match=r"test2014: image directory of split 'test' not found"):
        index_coco(coco_root, tmp_path / "index", splits={"test": ("test2014", SPLITS["val"][1])}, mask_cache=cache)
    (coco_root / "train2014" / "COCO_train2014_000000000025.jpg").unlink()
    with pytest.raises(InputError, match=r"COCO_train2014_000000000025\.jpg: image listed in .* not found"):
        index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=cache)
    assert not (tmp_path / "index").exists()


def test_malformed_json_is_named(coco_root, tmp_path):
    json_path = coco_root / SPLITS["val"][1]
    payload = json.loads(json_path.read_text())
    payload["annotations"][0]["category_id"] = 7
    json_path.write_text(json.dumps(payload))
    with pytest.raises(InputError, match=r"instances_val2014\.json: annotation 6 has unknown category 7"):
        index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=tmp_path / "cache")
    payload["categories"] = payload["categories"][:2]
    json_path.write_text(json.dumps(payload))
    with pytest.raises(InputError, match=r"instances_val2014\.json: categories differ"):
        index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=tmp_path / "cache")
    json_path.write_text("{not json")
    with pytest.raises(InputError, match=r"instances_val2014\.json: not a readable JSON file"):
        index_coco(coco_root, tmp_path / "index", splits=SPLITS, mask_cache=tmp_path / "cache")
