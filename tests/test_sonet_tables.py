"""SONet's paper tables: rows named as in the paper, the workflow's scores beside the paper's numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from wsss_core.evaluate.sonet_tables import (
    LABEL_TABLES,
    MODEL_TABLES,
    label_set_name,
    paper_label_name,
    table_label_sets,
    table_models,
    write_paper_table,
)
from wsss_core.io import InputError

VARIANTS = ("plain", "ms", "crf", "ms_crf")


def test_the_papers_symbols() -> None:
    assert paper_label_name("cam_objectness", "non_overlapping") == "G^Cm_dagger"
    assert paper_label_name("box_objectness_ignore", "overlapping") == "G^B_ign"
    assert paper_label_name("box_objectness", "saliency") == "G^B (saliency)"
    assert paper_label_name("cam", "none") == "C_m"
    assert label_set_name("box_objectness", "non_overlapping") == "G^B (non-overlapping)" and label_set_name("box", "none") == "B"


def test_a_model_table_puts_each_models_scores_beside_the_papers(tmp_path: Path) -> None:
    models = table_models(["table2"])
    assert models == ["sonet-cam_objectness-non_overlapping", "sonet-cam_objectness-overlapping",
                      "sonet-box_objectness_ignore-overlapping", "sonet-supervised-none"]  # fmt: skip
    scores = pd.DataFrame([{"model": m, "postprocessing": v, "mIoU": 10.0 * i + j} for i, m in enumerate(models) for j, v in enumerate(VARIANTS)])
    scores.to_csv(tmp_path / "scores.csv", index=False)
    table = write_paper_table("table2", tmp_path / "scores.csv", tmp_path / "table2.csv")
    assert table["row"].tolist() == ["SONet-O", "SONet", "SONet", "DeepLabv3"]
    assert table["labels"].tolist() == ["G^Cm_dagger", "G^Cm", "G^B_ign", "F"]
    assert table["mIoU_ms_crf"].tolist() == [3.0, 13.0, 23.0, 33.0]
    written = pd.read_csv(tmp_path / "table2.csv")
    assert written["paper"].tolist()[1:] == [70.5, 74.8, 77.2] and pd.isna(written["paper"][0])
    assert written["paper_test"].tolist()[1:] == [71.5, 76.0, 78.8]
    scores[scores["model"] != "sonet-supervised-none"].to_csv(tmp_path / "partial.csv", index=False)
    with pytest.raises(InputError, match="no rows of model 'sonet-supervised-none'"):
        write_paper_table("table2", tmp_path / "partial.csv", tmp_path / "t.csv")


def test_a_label_table_names_the_papers_rows(tmp_path: Path) -> None:
    sets = [(kind, setting) for kind, setting, _ in LABEL_TABLES["table1a"]]
    scored = pd.DataFrame([{"labels": label_set_name(k, s), "mIoU": float(i), "F1": 2.0 * i} for i, (k, s) in enumerate(sets)])
    scored.to_csv(tmp_path / "labels.csv", index=False)
    table = write_paper_table("table1a", tmp_path / "labels.csv", tmp_path / "table1a.csv")
    assert table["labels"].tolist() == ["C_m", "G^Cm_dagger", "G^Cm", "B", "G^B_dagger", "G^B"]
    assert table["mIoU"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert table["paper"].tolist() == [48.3, 63.5, 70.6, 60.2, 68.6, 76.6]
    scored.iloc[:-1].to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(InputError, match=r"no row 'G\^B \(overlapping\)' \(table1a needs it\)"):
        write_paper_table("table1a", tmp_path / "short.csv", tmp_path / "t.csv")


def test_each_table_names_what_it_trains_and_scores() -> None:
    assert table_models(["table5a"]) == ["deeplabv3-cam_objectness-overlapping", "sonet-cam_objectness-overlapping",
                                         "deeplabv3-box_objectness_ignore-overlapping", "sonet-box_objectness_ignore-overlapping"]  # fmt: skip
    assert table_label_sets(["table5b"]) == [("box_objectness", "overlapping"), ("box_objectness_sdi", "overlapping"),
                                             ("box_objectness_ignore", "overlapping")]  # fmt: skip
    assert ("cam_objectness", "saliency") in table_label_sets(["fig3c"])
    assert len(table_models(list(MODEL_TABLES))) == 11  # 6 of Table 1(b), G^B_ign, G^B_SDI, 2 DeepLabv3, the supervised one
