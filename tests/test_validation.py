"""The input check's parts: plain ids, one image's checks, and the validated index it writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from wsss_core.data.dataset import load_index
from wsss_core.data.index_scan import id_problem, scan_index
from wsss_core.data.validation import check_item, finish_validation
from wsss_core.io import InputError, write_label_map


@pytest.mark.parametrize(
    "image_id, problem",
    [
        ("2007_000032", None),
        ("a b", None),
        ("", "is empty"),
        ("a\0b", "contains a NUL character"),
        ("/etc/passwd", "is an absolute path"),
        ("x/../../y", "leaves its folder ('..')"),
        ("..", "leaves its folder ('..')"),
        ("a\\b", "contains a path separator"),
        (".bashrc", "starts with a dot (hidden file, or '..')"),
    ],
)
def test_ids_must_be_plain_file_names(image_id: str, problem: str | None) -> None:
    assert id_problem(image_id) == problem


def test_a_mask_of_another_size_is_named(tiny_dataset: Path, tmp_path: Path) -> None:
    mask = tmp_path / "mask.png"
    write_label_map(mask, np.zeros((10, 20), np.uint8))
    image = tiny_dataset / "images" / "val_0000.png"
    assert check_item(("val_0000", image, mask, True, None), 6) == [f"{mask}: mask is 20x10, its image is 64x64"]
    assert check_item(("val_0000", image, tmp_path / "none.png", True, None), 6) == [
        f"{tmp_path / 'none.png'}: ground-truth mask of 'val_0000' not found (its split is evaluated)"
    ]


def test_the_validated_index_reads_as_the_dataset(tiny_dataset: Path, tmp_path: Path) -> None:
    root = shutil.copytree(tiny_dataset, tmp_path / "data")
    output = tmp_path / "run" / "validated_index"
    finish_validation(root, [], tmp_path / "run" / "validation.txt", output, train_split="train", eval_split="val")
    original, validated = load_index(root), load_index(output)
    assert validated.class_names == original.class_names and validated.splits == original.splits
    assert validated.image_labels == original.image_labels
    for image_id in original.ids("val"):
        assert validated.image_path(image_id).resolve() == original.image_path(image_id).resolve()
        assert validated.mask_path(image_id).resolve() == original.mask_path(image_id).resolve()
    assert (output / "boxes.csv").read_bytes() == (root / "boxes.csv").read_bytes()
    assert scan_index(output).problems == []


def test_the_report_is_written_before_the_single_failure(tiny_dataset: Path, tmp_path: Path) -> None:
    root = shutil.copytree(tiny_dataset, tmp_path / "data")
    (root / "classes.txt").unlink()
    report = tmp_path / "validation.txt"
    with pytest.raises(InputError, match=r"1 problem\(s\) in the dataset"):
        finish_validation(root, [], report, tmp_path / "index", train_split="train", eval_split="val")
    assert report.read_text().splitlines()[0] == f"{root / 'classes.txt'}: file not found (one class name per line expected)"
    assert not (tmp_path / "index").exists()
