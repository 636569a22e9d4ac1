"""The real Snakemake DAG, end to end on a tiny config, and its invalidation behaviour."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from workflow_helpers import REPO, SNAKEMAKE, TINY, compare_runs, job_counts, merge, run_snakemake, write_config

from wsss_core.io import read_gray, read_label_map

SHARDED_RULES = ("extract_saliency", "dump_cams", "fuse_initial_labels", "refine_ctlr", "postprocess_crf")


@pytest.fixture(scope="module")
def sharded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("sharded")
    run_snakemake(workdir, "--configfile", str(write_config(workdir / "tiny.yaml", merge(TINY, {"shards": 4}))))
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
    assert pseudo["labels"].tolist() == [
        "sCAM-initial", "pCAM-initial", "CTLR-refined", "sCAM-initial (best threshold)", "pCAM-initial (best threshold)"
    ]  # fmt: skip
    assert pseudo["threshold"].tolist()[:3] == [0.1, 0.8, 0.8]  # labels.scam_fg_threshold, pcam_fg_threshold
    for column in ("mIoU", "precision", "recall", "F1", "coverage"):
        assert pseudo[column].between(0, 100).all(), column
    # the sweep fuses as rule fuse_initial_labels does: its rows at the configured thresholds score as the label PNGs
    sweep = pd.read_csv(run / "metrics" / "cam_thresholds.csv")
    assert len(sweep) == 18 and sorted(set(sweep["CAM"])) == ["pCAM", "sCAM"]
    rows = pseudo.set_index("labels")
    for cam in ("sCAM", "pCAM"):
        of_cam = sweep[sweep["CAM"] == cam]
        configured = of_cam[np.isclose(of_cam["threshold"], rows.loc[f"{cam}-initial", "threshold"])].iloc[0]
        for column in ("mIoU", "F1", "coverage", "mIoU_labelled"):
            assert configured[column] == pytest.approx(rows.loc[f"{cam}-initial", column], abs=0.011), (cam, column)
        best = rows.loc[f"{cam}-initial (best threshold)"]
        assert best["mIoU"] == pytest.approx(of_cam["mIoU"].max()) and best["mIoU"] >= configured["mIoU"]
        assert best["threshold"] == of_cam.loc[of_cam["mIoU"].idxmax(), "threshold"]
        ignored = of_cam["ignored_map_only"] + of_cam["ignored_cam_only"]  # every ignored pixel is a conflict
        np.testing.assert_allclose(ignored, 100 - of_cam["coverage"], atol=0.02)
    class_agnostic = pd.read_csv(run / "metrics" / "class_agnostic_labels.csv")
    assert len(class_agnostic) == 3 and class_agnostic["mIoU"].between(0, 100).all()

    segmentation = pd.read_csv(run / "metrics" / "segmentation.csv")
    assert set(zip(segmentation["model"], segmentation["postprocessing"])) == {
        (model, variant) for model in ("joint", "retrain") for variant in ("plain", "ms", "crf", "ms_crf")
    }
    assert segmentation["mIoU"].between(0, 100).all()
    assert not math.isnan(segmentation["background"].iloc[0])
    assert len(list((run / "segmentation" / "retrain" / "val" / "ms_crf").glob("*.png"))) == 4

    for job in ("train_classifier", "dump_cams/0-of-1", "refine_ctlr/0-of-1", "retrain", "evaluate"):
        assert (run / "benchmarks" / f"{job}.tsv").is_file(), job
        assert (run / "logs" / f"{job}.log").read_text().strip(), job


def test_up_to_date_run_schedules_nothing(finished_run: Path) -> None:
    result = run_snakemake(finished_run, "-n", "--configfile", str(finished_run / "tiny.yaml"))
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changing_the_pcam_threshold_reruns_exactly_the_dependent_steps(finished_run: Path, tmp_path: Path) -> None:
    changed = write_config(tmp_path / "changed.yaml", merge(TINY, {"labels": {"pcam_fg_threshold": 0.7}}))
    result = run_snakemake(finished_run, "-n", "--configfile", str(changed))
    scheduled = set(job_counts(result.stdout))
    assert {"fuse_initial_labels", "train_joint", "refine_ctlr", "retrain", "predict", "evaluate"} <= scheduled
    assert not scheduled & {"make_dataset", "extract_saliency", "gather_saliency", "train_classifier", "dump_cams"}


def test_changing_the_threshold_sweep_rescores_only_the_pseudo_labels(finished_run: Path, tmp_path: Path) -> None:
    changed = write_config(tmp_path / "changed.yaml", merge(TINY, {"labels": {"threshold_sweep": [0.3, 0.6]}}))
    scheduled = set(job_counts(run_snakemake(finished_run, "-n", "--configfile", str(changed)).stdout))
    assert scheduled == {"cam_thresholds", "evaluate_pseudo_labels", "all"}


def test_retraining_from_the_classifier_reruns_only_the_retraining_and_what_follows(finished_run: Path, tmp_path: Path) -> None:
    changed = write_config(tmp_path / "changed.yaml", merge(TINY, {"retrain": {"init": "classifier"}}))
    result = run_snakemake(finished_run, "-n", "--configfile", str(changed))
    scheduled = set(job_counts(result.stdout))
    assert {"retrain", "predict", "evaluate"} <= scheduled
    assert not scheduled & {"train_classifier", "train_joint", "predict_train", "refine_ctlr"}
    retrain = re.search(r"rule retrain:.*?\n\s+input: (.+?)\n", result.stdout, flags=re.DOTALL)
    assert retrain and "checkpoints/classifier.pt" in retrain.group(1) and "joint.pt" not in retrain.group(1)


def test_a_loss_weight_reruns_the_multitask_stages_and_not_the_classifier(finished_run: Path, tmp_path: Path) -> None:
    changed = write_config(tmp_path / "changed.yaml", merge(TINY, {"loss_weights": {"seg": 2.0}}))
    scheduled = set(job_counts(run_snakemake(finished_run, "-n", "--configfile", str(changed)).stdout))
    assert {"train_joint", "refine_ctlr", "retrain", "evaluate"} <= scheduled
    assert not scheduled & {"train_classifier", "dump_cams", "fuse_initial_labels", "train_supervised"}


def test_joint_training_from_an_untrained_network_keeps_the_classifier_and_its_labels(finished_run: Path, tmp_path: Path) -> None:
    changed = write_config(tmp_path / "changed.yaml", merge(TINY, {"joint": {"init": "backbone"}}))
    result = run_snakemake(finished_run, "-n", "--configfile", str(changed))
    scheduled = set(job_counts(result.stdout))
    assert {"new_network", "train_joint", "refine_ctlr", "retrain", "evaluate"} <= scheduled
    assert not scheduled & {"train_classifier", "dump_cams", "fuse_initial_labels", "train_supervised"}
    joint = re.search(r"rule train_joint:.*?\n\s+input: (.+?)\n", result.stdout, flags=re.DOTALL)
    assert joint and "checkpoints/backbone.pt" in joint.group(1) and "classifier.pt" not in joint.group(1)


def test_dry_run_lists_one_job_per_shard(tmp_path: Path) -> None:
    config = write_config(tmp_path / "tiny.yaml", merge(TINY, {"shards": 4}))
    counts = job_counts(run_snakemake(tmp_path, "-n", "--configfile", str(config)).stdout)
    # fuse_initial_labels: pCAM and sCAM; postprocess_crf: the joint and the retrained model
    expected = {"extract_saliency": 4, "dump_cams": 4, "fuse_initial_labels": 8, "refine_ctlr": 4, "postprocess_crf": 8}
    assert {rule: counts.get(rule) for rule in SHARDED_RULES} == expected
    assert counts["gather_saliency"] == counts["gather_cams"] == counts["gather_refined_labels"] == 1
    assert counts["gather_initial_labels"] == counts["gather_crf"] == 2


def test_sharded_outputs_equal_the_unsharded_ones(finished_run: Path, sharded_run: Path) -> None:
    shards = sharded_run / "results" / "tiny" / "shards"
    assert sorted(p.name for p in (shards / "saliency").iterdir()) == ["0-of-4", "1-of-4", "2-of-4", "3-of-4"]
    per_shard = [len(list((shards / "saliency" / name).glob("*.png"))) for name in sorted(os.listdir(shards / "saliency"))]
    assert sum(per_shard) == 12 and max(per_shard) < 12, per_shard
    assert compare_runs(finished_run / "results" / "tiny", sharded_run / "results" / "tiny") == []


def test_lint_reports_only_the_documented_pythonpath_lint() -> None:
    result = subprocess.run(
        [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(REPO), "--lint"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lints = re.findall(r"^\s*\* (.+)$", result.stdout + result.stderr, flags=re.MULTILINE)
    common = (REPO / "rules" / "common.smk").read_text().splitlines()
    line = next(i for i, text in enumerate(common, 1) if text.startswith('os.environ["PYTHONPATH"]'))
    assert lints == [f"Environment variable PYTHONPATH used but not asserted with envvars directive in line {line}.:"]


def test_demo_sonet_shares_the_ctlr_steps_and_writes_table_1(finished_run: Path, tmp_path: Path) -> None:
    workdir = shutil.copytree(finished_run, tmp_path / "workflow")  # keeps mtimes: the CTLR outputs stay up to date
    result = run_snakemake(workdir, "demo_sonet", "--configfile", str(workdir / "tiny.yaml"))
    ran = set(job_counts(result.stdout + result.stderr))
    assert {"train_objectness", "objectness_maps", "sonet_labels", "train_sonet", "evaluate_sonet"} <= ran
    assert not ran & {"make_dataset", "train_classifier", "dump_cams"}, "shared steps must be reused"

    run = workdir / "results" / "tiny"
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


def test_the_weak_tables_come_before_the_supervised_reference(finished_run: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "workflow"
    shutil.copytree(finished_run, workdir, symlinks=True)
    # a training job takes both cores, as a GPU job takes the GPU: the job order is decided by the priorities
    config = write_config(workdir / "both.yaml", merge(TINY, {"supervised": {"train": {"epochs": 1}}, "threads": {"train": 2}}))
    # the retrained model and everything after it are pending next to the whole supervised chain, one GPU job at a time
    result = run_snakemake(workdir, "all", "supervised", "--forcerun", "retrain", "--resources", "gpu=1", "--configfile", str(config))
    started = re.findall(r"^(?:local)?rule (\w+):", result.stdout + result.stderr, flags=re.MULTILINE)
    assert {"retrain", "evaluate", "train_supervised"} <= set(started), started
    assert started.index("train_supervised") > started.index("evaluate"), started
