"""Rule ctlr_change: what CTLR changed, overall and per class, and the warning when G_ca^ref shrinks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from wsss_core.ctlr.guard import ctlr_change
from wsss_core.data.dataset import load_index
from wsss_core.io import IGNORE_LABEL, read_label_map, write_gray, write_label_map


def _label_dirs(dataset: Path, root: Path, refined_fg_rows: int) -> dict[str, Path]:
    """G_seg^init = the ground truth; saliency / online G_ca: the top half foreground; G_ca^ref: ``refined_fg_rows`` rows."""
    index = load_index(dataset)
    dirs = {key: root / key for key in ("initial", "refined", "guidance", "online_ca", "refined_ca")}
    for image_id in index.ids("train"):
        truth = read_label_map(index.mask_path(image_id))
        height = truth.shape[0]
        write_label_map(dirs["initial"] / f"{image_id}.png", truth)
        refined = truth.copy()
        refined[: height // 4] = IGNORE_LABEL  # the top quarter becomes ignored: changed, coverage drops
        write_label_map(dirs["refined"] / f"{image_id}.png", refined)
        for key, rows in (("guidance", height // 2), ("online_ca", height // 2), ("refined_ca", refined_fg_rows)):
            fg = np.zeros(truth.shape, dtype=np.uint8)
            fg[:rows] = 255
            write_gray(dirs[key] / f"{image_id}.png", fg)
    return dirs


def test_change_table_and_warning_when_the_foreground_shrinks(tiny_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dirs = _label_dirs(tiny_dataset, tmp_path, refined_fg_rows=16)  # 64 px images: a quarter vs the saliency's half
    with caplog.at_level(logging.WARNING, logger="wsss_core.ctlr.guard"):
        table = ctlr_change(tiny_dataset, "train", dirs, tmp_path / "change.csv", fg_threshold=0.5, fg_ratio_bounds=(0.8, 1.25), workers=1)
    overall = table.set_index("labels").loc["all"]
    assert overall["images"] == 12
    assert overall["fg_saliency"] == pytest.approx(50.0) and overall["fg_online_ca"] == pytest.approx(50.0)
    assert overall["fg_refined_ca"] == pytest.approx(25.0) and overall["refined_over_saliency"] == pytest.approx(0.5)
    assert overall["coverage_after"] < overall["coverage_before"] and overall["changed_pct"] > 0
    index = load_index(tiny_dataset)
    expected_classes = {index.class_names[c - 1] for i in index.ids("train") for c in index.present_classes(i)}
    assert set(table["labels"]) == {"all"} | expected_classes
    assert (tmp_path / "change.csv").is_file()
    messages = [record.getMessage() for record in caplog.records]
    assert any("shrank the foreground of all images" in message for message in messages)
    for row in table[table["labels"] != "all"].itertuples():  # every class shrank too, named with its image count
        noun = "image" if row.images == 1 else "images"
        assert any(f"shrank the foreground of the {row.images} {noun} of {row.labels}:" in m for m in messages), row.labels


def test_no_warning_when_the_refined_foreground_stays_within_the_bounds(tiny_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dirs = _label_dirs(tiny_dataset, tmp_path, refined_fg_rows=30)  # 30 / 32 rows of the saliency's foreground
    with caplog.at_level(logging.WARNING, logger="wsss_core.ctlr.guard"):
        ctlr_change(tiny_dataset, "train", dirs, tmp_path / "change.csv", fg_threshold=0.5, fg_ratio_bounds=(0.8, 1.25), workers=2)
    assert not caplog.records
