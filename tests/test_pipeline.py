"""The real Snakemake DAG, end to end on a tiny config, and its invalidation behaviour."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from wsss_core.io import read_gray, read_label_map

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

TINY = {
    "run": "tiny",
    "dataset": {
        "generator": {"num_train": 12, "num_val": 4, "image_size": 64, "num_classes": 6, "num_source": 8, "seed": 1},
    },
    "train": {"batch_size": 4, "crop_size": 56},
    "classifier": {"train": {"epochs": 2}},
    "joint": {"train": {"epochs": 2}, "ca_refresh_every": 1},
    "retrain": {"train": {"epochs": 1}, "ca_refresh_every": 0},
    "objectness": {"train": {"epochs": 1, "batch_size": 4}},
    "sonet": {"train": {"epochs": 1}},
    "inference": {"scales": [0.75, 1.0], "flip": True},
    "threads": {"train": 2, "per_image": 2},
}


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _write_config(path: Path, override: dict) -> Path:
    path.write_text(yaml.safe_dump(override))
    return path


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    return result


def _scheduled_rules(dry_run_output: str) -> set[str]:
    """Rule names of the 'Job stats' table that `snakemake -n` prints."""
    table = dry_run_output.split("Job stats:", 1)[1]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, flags=re.MULTILINE)} - {"total"}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("workflow")
    _snakemake(workdir, "--configfile", str(_write_config(workdir / "tiny.yaml", TINY)))
    return workdir


def test_dag_produces_every_output(finished_run: Path) -> None:
    run = finished_run / "results" / "tiny"
    ids = [line.split(",")[0] for line in (run / "dataset" / "image_labels.csv").read_text().splitlines()[1:]]
    train_ids = [i for i in ids if i.startswith("train")]
    assert len(train_ids) == 12

    # CAM store: float16 CAM / sCAM / pCAM for the present classes only, at image size
    with h5py.File(run / "cams.h5") as store:
        for image_id in train_ids:
            group = store[image_id]
            classes = group.attrs["classes"]
            assert 1 <= len(classes) <= 3
            for name in ("cam", "scam", "pcam"):
                assert group[name].dtype == np.float16
                assert group[name].shape == (len(classes), 64, 64)
            pcam = group["pcam"][()].astype(np.float32)
            assert pcam.min() >= 0 and pcam.sum(axis=0).max() <= 1.0 + 1e-2
            assert group["scam"][()].max() <= 1.0

    # label maps: VOC palette PNGs with classes, 0 and 255 only where allowed
    for directory in ("initial_pcam", "initial_scam", "refined_seg"):
        values = np.unique(np.concatenate([read_label_map(run / "labels" / directory / f"{i}.png").ravel() for i in train_ids]))
        assert set(values.tolist()) <= set(range(7)) | {255}, directory
    for directory in ("refined_ca", "online_ca_joint"):
        values = np.unique(np.concatenate([read_gray(run / "labels" / directory / f"{i}.png").ravel() for i in train_ids]))
        assert set(values.tolist()) <= {0, 255}, directory
    assert len(list((run / "saliency").glob("*.png"))) == 12

    # checkpoints load with weights_only=True
    for stage in ("classifier", "joint", "retrain"):
        checkpoint = torch.load(run / "checkpoints" / f"{stage}.pt", weights_only=True)
        assert checkpoint["model_config"]["num_classes"] == 6
        assert not (run / "checkpoints" / f"{stage}.pt.resume").exists()
        history = pd.read_csv(run / "train_logs" / f"{stage}.csv")
        assert history["loss"].notna().all()

    pseudo = pd.read_csv(run / "metrics" / "pseudo_labels.csv")
    assert pseudo["labels"].tolist() == ["sCAM-initial", "pCAM-initial", "CTLR-refined"]
    for column in ("mIoU", "precision", "recall", "F1", "coverage"):
        assert pseudo[column].between(0, 100).all(), column
    class_agnostic = pd.read_csv(run / "metrics" / "class_agnostic_labels.csv")
    assert len(class_agnostic) == 3 and class_agnostic["mIoU"].between(0, 100).all()

    segmentation = pd.read_csv(run / "metrics" / "segmentation.csv")
    assert set(zip(segmentation["model"], segmentation["postprocessing"])) == {
        (model, variant) for model in ("joint", "retrain") for variant in ("plain", "ms", "crf", "ms_crf")
    }
    assert segmentation["mIoU"].between(0, 100).all()
    assert not math.isnan(segmentation["background"].iloc[0])
    assert len(list((run / "segmentation" / "retrain" / "val" / "ms_crf").glob("*.png"))) == 4

    for rule in ("train_classifier", "dump_cams", "refine_ctlr", "retrain", "evaluate"):
        assert (run / "benchmarks" / f"{rule}.tsv").is_file(), rule
        assert (run / "logs" / f"{rule}.log").read_text().strip(), rule


def test_up_to_date_run_schedules_nothing(finished_run: Path) -> None:
    result = _snakemake(finished_run, "-n", "--configfile", str(finished_run / "tiny.yaml"))
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_the_pcam_threshold_reruns_exactly_the_dependent_steps(finished_run: Path, tmp_path: Path) -> None:
    changed = _write_config(tmp_path / "changed.yaml", _merge(TINY, {"labels": {"pcam_fg_threshold": 0.7}}))
    result = _snakemake(finished_run, "-n", "--configfile", str(changed))
    scheduled = _scheduled_rules(result.stdout)
    assert {"fuse_initial_labels", "train_joint", "refine_ctlr", "retrain", "predict", "evaluate"} <= scheduled
    assert not scheduled & {"make_dataset", "extract_saliency", "train_classifier", "dump_cams"}


def test_lint_reports_only_the_documented_pythonpath_lint() -> None:
    result = subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(REPO), "--lint"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lints = re.findall(r"^\s*\* (.+)$", result.stdout + result.stderr, flags=re.MULTILINE)
    assert lints == ["Environment variable PYTHONPATH used but not asserted with envvars directive in line 7.:"]


def test_demo_sonet_shares_the_ctlr_steps_and_writes_table_1(finished_run: Path) -> None:
    result = _snakemake(finished_run, "demo_sonet", "--configfile", str(finished_run / "tiny.yaml"))
    ran = _scheduled_rules(result.stdout + result.stderr)
    assert {"train_objectness", "objectness_maps", "sonet_labels", "train_sonet", "evaluate_sonet"} <= ran
    assert not ran & {"make_dataset", "train_classifier", "dump_cams"}, "shared steps must be reused"

    run = finished_run / "results" / "tiny"
    pseudo = pd.read_csv(run / "metrics" / "sonet_pseudo_labels.csv")
    assert pseudo["labels"].tolist() == [
        "C_m",
        "G^Cm (non-overlapping)",
        "G^Cm (overlapping)",
        "B",
        "G^B (non-overlapping)",
        "G^B (overlapping)",
        "G^B_ign (non-overlapping)",
        "G^B_ign (overlapping)",
    ]
    assert pseudo["mIoU"].between(0, 100).all()
    for supervision, kind in (("image", "cam_objectness"), ("box", "box_objectness_ignore")):
        table = pd.read_csv(run / "metrics" / f"sonet_segmentation_{supervision}.csv")
        assert table["model"].unique().tolist() == [f"sonet-{kind}-non_overlapping"]
        assert table["mIoU"].between(0, 100).all()
    for setting in ("overlapping", "non_overlapping"):
        maps = list((run / "objectness" / setting).glob("*.png"))
        assert len(maps) == 12 and read_gray(maps[0]).shape == (64, 64)
    ignore_labels = np.concatenate(
        [read_label_map(p).ravel() for p in (run / "labels" / "sonet" / "box_objectness_ignore" / "overlapping").glob("*.png")]
    )
    assert set(np.unique(ignore_labels).tolist()) <= set(range(7)) | {255}
