"""Open Images indexing (class map, box conversion, streaming, collected problems) and what SONet across datasets needs.

The Table 1(c) DAG itself runs in tests/test_shipped_configs.py (configs/openimages_to_voc12_sonet.yaml).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dataset_trees import (
    OPENIMAGES_NAMES,
    write_openimages_tree,
)
from workflow_helpers import (
    RESNET50_WEIGHTS,
    empty_openimages_tree,
    empty_voc_tree,
    job_counts,
    link_weights,
)

from wsss_core.data import openimages
from wsss_core.data.dataset import PROBLEMS_FILE, load_index, read_boxes
from wsss_core.data.openimages import (
    OPENIMAGES_TO_VOC,
    index_openimages,
    pixel_box,
    resolve_class_map,
)
from wsss_core.data.voc import VOC_CLASSES
from wsss_core.io import InputError

REPO = Path(__file__).resolve().parents[1]
SPLITS = {"train": ["train", "train-annotations-bbox.csv"]}
BOX_CSV = "train-annotations-bbox.csv"


@pytest.fixture()
def openimages_root(tmp_path: Path) -> Path:
    return write_openimages_tree(tmp_path / "openimages", 6)


def _drawn_boxes(root: Path) -> dict[str, list[tuple[int, int, int, int, int]]]:
    """The boxes the fixture drew, as (VOC class, x0, y0, x1, y1), from its CSV's mapped rows and the image sizes."""
    table = pd.read_csv(root / BOX_CSV)
    voc_of_mid = {mid: VOC_CLASSES.index(name) + 1 for name, (mid, _) in OPENIMAGES_NAMES.items()}
    boxes: dict[str, list[tuple[int, int, int, int, int]]] = {}
    for row in table[table["LabelName"].isin(voc_of_mid)].itertuples():
        if (root / "train" / f"{row.ImageID}.jpg").is_file():
            w, h = 64, 48
            box = (round(row.XMin * w), round(row.YMin * h), round(row.XMax * w), round(row.YMax * h))
            boxes.setdefault(row.ImageID, []).append((voc_of_mid[row.LabelName], *box))
    return boxes


def test_voc_classes_labels_and_pixel_boxes(openimages_root: Path, tmp_path: Path) -> None:
    index_openimages(openimages_root, tmp_path / "index", splits=SPLITS)
    index = load_index(tmp_path / "index")
    assert index.class_names == VOC_CLASSES
    expected = _drawn_boxes(openimages_root)
    assert set(index.ids("train")) == set(expected)  # every image with a mapped box, none of the CSV's other images
    assert read_boxes(tmp_path / "index" / "boxes.csv", index.num_classes) == expected  # Tree boxes dropped
    for image_id, boxes in expected.items():
        assert index.present_classes(image_id) == tuple(sorted({box[0] for box in boxes}))
        assert not index.has_mask(image_id)


def test_the_class_map_follows_display_names(openimages_root: Path, tmp_path: Path) -> None:
    assert sorted(set(OPENIMAGES_TO_VOC.values())) == sorted(VOC_CLASSES)  # every VOC class has an Open Images class
    assert {name for name, target in OPENIMAGES_TO_VOC.items() if target == "person"} == {"Person", "Man", "Woman", "Boy", "Girl"}
    index_openimages(openimages_root, tmp_path / "index", splits=SPLITS, class_map={"Dog": "dog", "Tree": "pottedplant"})
    index = load_index(tmp_path / "index")
    dog, plant = VOC_CLASSES.index("dog") + 1, VOC_CLASSES.index("pottedplant") + 1
    assert index.ids("train") and all(set(labels) <= {dog, plant} and plant in labels for labels in index.image_labels.values())
    with pytest.raises(ValueError, match="not VOC classes"):
        resolve_class_map({"Dog": "hound"})
    with pytest.raises(InputError, match=r"class-descriptions-boxable.csv: no class with display name\(s\) \['Unicorn'\]"):
        index_openimages(openimages_root, tmp_path / "other", splits=SPLITS, class_map={"Unicorn": "horse"})


def test_pixel_box_conversion() -> None:
    assert pixel_box(0.0, 1.0, 0.0, 1.0, (48, 64)) == (0, 0, 64, 48)
    assert pixel_box(7 / 48, 0.5, 0.145833, 0.5, (48, 48)) == (7, 7, 24, 24)  # 0.145833 * 48 = 6.99998: edge 7
    assert pixel_box(0.1, 0.12, 0.5, 0.5, (10, 10)) == (1, 5, 2, 6)  # at least one pixel, partial pixels covered
    assert pixel_box(1.0, 1.0, 0.0, 0.3, (10, 10)) == (9, 0, 10, 3)  # a box on the last column stays inside
    for bad in ((0.5, 0.4, 0.0, 1.0), (-0.1, 0.5, 0.0, 1.0), (0.0, 1.2, 0.0, 1.0)):
        with pytest.raises(ValueError, match="not inside 0..1"):
            pixel_box(*bad, (10, 10))


def test_the_box_csv_is_streamed_in_chunks(openimages_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chunks: list[int] = []
    real_read_csv = pd.read_csv

    def recording_read_csv(*args, **kwargs):
        result = real_read_csv(*args, **kwargs)
        if Path(args[0]).name == BOX_CSV and "chunksize" in kwargs:
            assert kwargs["usecols"] == list(openimages.BOX_CSV_COLUMNS)
            return (chunks.append(len(chunk)) or chunk for chunk in result)
        assert kwargs.get("nrows") == 0 or Path(args[0]).name != BOX_CSV, "the box CSV is read whole"
        return result

    monkeypatch.setattr(openimages.pd, "read_csv", recording_read_csv)
    index_openimages(openimages_root, tmp_path / "index", splits=SPLITS, chunksize=4)
    rows = len(real_read_csv(openimages_root / BOX_CSV))
    assert chunks == [4] * (rows // 4) + ([rows % 4] if rows % 4 else [])
    monkeypatch.undo()
    index_openimages(openimages_root, tmp_path / "whole", splits=SPLITS, chunksize=10_000)
    for name in ("image_labels.csv", "boxes.csv", "files.csv"):
        assert (tmp_path / "index" / name).read_text() == (tmp_path / "whole" / name).read_text()


def test_every_bad_image_is_named_in_one_run(openimages_root: Path, tmp_path: Path) -> None:
    ids = sorted(_drawn_boxes(openimages_root))
    broken_image = openimages_root / "train" / f"{ids[0]}.jpg"
    broken_image.write_bytes(b"not a jpeg")
    table = pd.read_csv(openimages_root / BOX_CSV)
    table.loc[table["ImageID"] == ids[1], "XMax"] = 1.5
    table.to_csv(openimages_root / BOX_CSV, index=False)
    with pytest.raises(InputError) as raised:
        index_openimages(openimages_root, tmp_path / "index", splits=SPLITS)
    message = str(raised.value)
    assert "2 problem(s)" in message and str(broken_image) in message
    assert re.search(rf"{re.escape(BOX_CSV)}: image '{ids[1]}', class /m/\w+: normalised box .* not inside 0..1", message)
    assert not (tmp_path / "index").exists()
    index_openimages(openimages_root, tmp_path / "index", splits=SPLITS, record_problems=True)
    assert len((tmp_path / "index" / PROBLEMS_FILE).read_text().splitlines()) == 2
    assert set(load_index(tmp_path / "index").ids("train")) == set(ids[2:])


def test_file_errors_name_the_file(openimages_root: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(str(openimages_root / "validation"))):
        index_openimages(openimages_root, tmp_path / "index", splits={"train": ["validation", BOX_CSV]})
    table = pd.read_csv(openimages_root / BOX_CSV).drop(columns=["YMax"])
    table.to_csv(openimages_root / BOX_CSV, index=False)
    with pytest.raises(InputError, match=rf"{re.escape(BOX_CSV)}: missing column\(s\) \['YMax'\]"):
        index_openimages(openimages_root, tmp_path / "index", splits=SPLITS)
    (openimages_root / "class-descriptions-boxable.csv").unlink()
    with pytest.raises(InputError, match="class-descriptions-boxable.csv: Open Images class-description file not found"):
        index_openimages(openimages_root, tmp_path / "index", splits=SPLITS)


def _cross_dataset_run(tmp_path: Path, paper_weights: dict[str, Path]) -> tuple[Path, list[str]]:
    """A work directory for configs/openimages_to_voc12_sonet.yaml (its VOC tree, COCO-Stuff source and weights, empty
    files) and the dry run of its target o_plus_v there, up to its --config items (data_root given)."""
    work = tmp_path / "work"
    empty_voc_tree(work / "data" / "VOC2012")
    for folder in ("images/train2017", "annotations/train2017"):
        (work / "data" / "cocostuff" / folder).mkdir(parents=True)
    link_weights(work, paper_weights, RESNET50_WEIGHTS)
    data_root = empty_openimages_tree(tmp_path / "openimages")
    command = [
        sys.executable, "-m", "snakemake", "o_plus_v", "-s", str(REPO / "Snakefile"), "-d", str(work), "-n", "--cores", "2",
        "--configfile", str(REPO / "configs" / "openimages_to_voc12_sonet.yaml"), "--config", f"data_root={data_root}",
    ]  # fmt: skip
    return work, command


def test_cross_dataset_config_names_what_it_lacks_when_the_workflow_starts(tmp_path: Path, paper_weights: dict[str, Path]) -> None:
    """configs/openimages_to_voc12_sonet.yaml without the eval tree's boxes, or targets o_to_v / o_plus_v without eval_dataset."""
    work, command = _cross_dataset_run(tmp_path, paper_weights)
    shutil.rmtree(work / "data" / "VOC2012" / "Annotations")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0 and "need the boxes of eval_dataset" in result.stdout + result.stderr
    plain = [*command[:command.index("--configfile")], *command[command.index("--config"):]]
    result = subprocess.run(plain, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0 and "targets o_to_v / o_plus_v evaluate on a second dataset" in result.stdout + result.stderr


def test_the_cross_dataset_config_plans_over_seeds(tmp_path: Path, paper_weights: dict[str, Path]) -> None:
    """configs/openimages_to_voc12_sonet.yaml with seeds: every fine-tuning job once per seed, with that seed."""
    _, command = _cross_dataset_run(tmp_path, paper_weights)
    result = subprocess.run([*command, "seeds=[0,1]"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    assert counts["finetune_sonet"] == 2 * 2 and counts["train_sonet"] == 3 * 2 and counts["train_objectness"] == 2
