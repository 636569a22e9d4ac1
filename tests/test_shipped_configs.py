"""Every shipped config in configs/ runs for real, in miniature: the targets its header names, end to end.

Each config runs as shipped (its backbone, weights file, guidance, refresh CRF
backend, inference scales and flip, CRF and exports) on a tiny tree of its
dataset kind, layered with ``tests/configs/miniature.yaml``, which changes sizes
only (crop, batch, epochs, ``max_side``, threads). Weights files are written
where the config expects them, with the right keys and shapes and random
values (``paper_weights`` in conftest.py). Each test checks that every job of the config's DAG ran and that the
tables of its targets exist.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
import yaml
from dataset_trees import (
    write_cityscapes_tree,
    write_coco_stuff_tree,
    write_coco_tree,
    write_openimages_tree,
    write_voc_paper_tree,
    write_voc_tree,
)
from workflow_helpers import REPO, RESNET38_WEIGHTS, RESNET50_WEIGHTS, RESNET101_WEIGHTS, SNAKEMAKE, job_counts, link_weights, run_snakemake

from wsss_core.config_layers import STAGE_SECTIONS, header_targets, run_stages
from wsss_core.cost.plan import PRICED_RULES, plan_run
from wsss_core.cost.sizes import run_sizes
from wsss_core.data.cityscapes import THINGS
from wsss_core.data.dataset import load_index
from wsss_core.data.voc import VOC_CLASSES
from wsss_core.doctor import load_config
from wsss_core.evaluate.cross_dataset import PAPER_TABLE_1C

CONFIGS = REPO / "configs"
MINIATURE = Path(__file__).resolve().parent / "configs" / "miniature.yaml"


def header_data_keys(config: Path) -> set[str]:
    """The keys the config's header commands set to a data path with ``--config`` (``data_root=/data/...``)."""
    items = re.findall(r"--config\s+((?:\S+=\S+\s*)+)", config.read_text())
    return {item.split("=")[0] for group in items for item in group.split() if item.startswith("data_root=")}


def _voc12_paper(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    link_weights(workdir, weights, RESNET38_WEIGHTS)
    return {"data_root": write_voc_paper_tree(tmp / "VOC2012", {"train_aug": 8, "val": 4, "test": 2}, "saliency_dss")}


def _coco14_paper(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    link_weights(workdir, weights, RESNET38_WEIGHTS)
    return {"data_root": write_coco_tree(tmp / "coco2014", {"train": 8, "val": 4}, "saliency_dss")}


def _cityscapes_sonet(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    link_weights(workdir, weights, RESNET50_WEIGHTS)
    write_coco_stuff_tree(workdir / "data" / "cocostuff", "train2017", 8)
    return {"data_root": write_cityscapes_tree(tmp / "cityscapes", {"train": 8, "val": 4})}


def _openimages_to_voc12_sonet(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    link_weights(workdir, weights, RESNET50_WEIGHTS)
    write_coco_stuff_tree(workdir / "data" / "cocostuff", "train2017", 8)
    write_voc_tree(workdir / "data" / "VOC2012", {"train_aug": 4, "val": 4})
    return {"data_root": write_openimages_tree(tmp / "openimages", 8)}


def _voc12_sonet(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    """A VOC tree with XML boxes, a test split and DSS maps; COCO-Stuff with images of VOC classes and of none."""
    link_weights(workdir, weights, RESNET50_WEIGHTS, RESNET101_WEIGHTS)
    write_coco_stuff_tree(workdir / "data" / "cocostuff", "train2017", 8, giraffes=3)
    return {"data_root": write_voc_paper_tree(tmp / "VOC2012", {"train_aug": 8, "val": 4, "test": 2}, "saliency_dss")}


def _voc12_sample(tmp: Path, workdir: Path, weights: dict[str, Path]) -> dict[str, Path]:
    """The sample's layout at its configured data/voc12_sample (wsss prepare voc-sample): train.txt at the root, saliency/, no XML."""
    root = write_voc_paper_tree(workdir / "data" / "voc12_sample", {"train": 15}, "saliency")
    (root / "ImageSets" / "Segmentation" / "train.txt").rename(root / "train.txt")
    shutil.rmtree(root / "ImageSets")
    shutil.rmtree(root / "Annotations")
    return {}


def _voc12_paper_outputs(run: Path, planned: dict[str, int]) -> None:
    """The joint model's predictions on train_aug (what CTLR reads) and the VOC test export."""
    assert (run / "predictions" / "joint" / "train_aug.h5").is_file()
    assert len(list((run / "VOC2012" / "Segmentation" / "comp6_test_cls").glob("*.png"))) == 2


def _cityscapes_outputs(run: Path, planned: dict[str, int]) -> None:
    """Table 4: SONet against its fully supervised baseline per post-processing, scored on the 8 things classes."""
    table = pd.read_csv(run / "metrics" / "sonet_weak_vs_full.csv")
    assert table["postprocessing"].tolist() == ["plain", "ms", "crf", "ms_crf"]
    assert table[["mIoU_weak", "mIoU_full"]].gt(0).all().all()
    # the table keeps two decimals: the stored ratio is within half a unit of the last one of the exact ratio
    np.testing.assert_allclose(table["weak_over_full"], table["mIoU_weak"] / table["mIoU_full"], rtol=1e-3, atol=0.005)
    per_class = pd.read_csv(run / "metrics" / "sonet_segmentation_supervised.csv")
    assert list(per_class.columns[2:-1]) == ["background", *(name for name, _ in THINGS)]


def _cross_dataset_outputs(run: Path, planned: dict[str, int]) -> None:
    """Table 1(c): both datasets indexed and validated once; SONets on B, G^B and G^B_ign (O -> V), G^B and G^B_ign fine-tuned (O + V)."""
    assert planned["index_dataset"] == 2 and planned["gather_validation"] == 1 and planned["gather_eval_validation"] == 1
    assert planned["train_sonet"] == 3 and planned["finetune_sonet"] == 2
    table = pd.read_csv(run / "metrics" / "sonet_cross_dataset.csv")
    rows = [["O -> V", "B"], ["O -> V", "G^B"], ["O + V", "G^B"], ["O + V", "G^B_ign"]]
    assert table[["setting", "labels"]].values.tolist() == rows
    scores = table[["mIoU_plain", "mIoU_ms", "mIoU_crf", "mIoU_ms_crf"]].to_numpy()
    assert np.isfinite(scores).all() and (scores > 0).all() and (scores <= 100).all()
    assert table["paper"].tolist() == [PAPER_TABLE_1C[(setting, labels)] for setting, labels in rows]
    per_class = pd.read_csv(run / "metrics" / "sonet_segmentation_o_to_v.csv")
    assert list(per_class.columns[2:-1]) == ["background", *VOC_CLASSES]  # scored on the VOC classes of the VOC tree
    assert len(load_index(run / "eval_validated_index").ids("val")) == 4
    history = pd.read_csv(run / "train_logs" / "sonet_finetuned-box_objectness-overlapping.csv")
    assert len(history) == 1 and np.isfinite(history["loss"]).all()


def _voc12_sonet_outputs(run: Path, planned: dict[str, int]) -> None:
    """SONet's VOC tables, each row named as in the paper and with the paper's number where it gives one; the test PNGs."""
    rows = {
        "sonet_table1a": ["C_m", "G^Cm_dagger", "G^Cm", "B", "G^B_dagger", "G^B"],
        "sonet_table1b": ["C_m", "G^Cm_dagger", "G^Cm", "B", "G^B_dagger", "G^B"],
        "sonet_table2": ["G^Cm_dagger", "G^Cm", "G^B_ign", "F"],
        "sonet_table5a": ["G^Cm", "G^Cm", "G^B_ign", "G^B_ign"],
        "sonet_table5b": ["G^B", "G^B_SDI", "G^B_ign"],
        "sonet_fig3c": ["G^Cm (saliency)", "G^Cm_dagger", "G^Cm", "G^B (saliency)", "G^B_dagger", "G^B"],
    }
    for table, labels in rows.items():
        assert pd.read_csv(run / "metrics" / f"{table}.csv")["labels"].tolist() == labels, table
    assert pd.read_csv(run / "metrics" / "sonet_table1a.csv")["paper"].tolist() == [48.3, 63.5, 70.6, 60.2, 68.6, 76.6]
    table2 = pd.read_csv(run / "metrics" / "sonet_table2.csv")
    assert table2["row"].tolist() == ["SONet-O", "SONet", "SONet", "DeepLabv3"] and table2["paper_test"].tolist()[1:] == [71.5, 76.0, 78.8]
    assert pd.read_csv(run / "metrics" / "sonet_table5a.csv")["model"].tolist()[0] == "deeplabv3-cam_objectness-overlapping"
    assert planned["train_objectness"] == 2 and planned["train_deeplabv3"] == 2 and planned["train_sonet_supervised"] == 1
    assert planned["export_sonet_test"] == 4
    for model in ("sonet-cam_objectness-overlapping", "sonet-supervised-none"):
        assert len(list((run / "voc_test" / model / "VOC2012" / "Segmentation" / "comp6_test_cls").glob("*.png"))) == 2


OUTPUT_CHECKS: dict[str, Callable[[Path, dict[str, int]], None]] = {
    "voc12_paper": _voc12_paper_outputs,
    "cityscapes_sonet": _cityscapes_outputs,
    "openimages_to_voc12_sonet": _cross_dataset_outputs,
    "voc12_sonet": _voc12_sonet_outputs,
}

TREES: dict[str, Callable[[Path, Path, dict[str, Path]], dict[str, Path]]] = {
    "voc12_paper": _voc12_paper,
    "coco14_paper": _coco14_paper,
    "cityscapes_sonet": _cityscapes_sonet,
    "openimages_to_voc12_sonet": _openimages_to_voc12_sonet,
    "voc12_sonet": _voc12_sonet,
    "voc12_sample": _voc12_sample,
}

# What each config's targets must have run (besides the gather steps), and the tables they write.
CHAINS = {
    "voc12_paper": (
        {"index_dataset", "validate_inputs", "extract_saliency", "train_classifier", "dump_cams", "fuse_initial_labels",
         "train_joint", "predict", "predict_train", "refine_ctlr", "retrain", "postprocess_crf", "cam_thresholds",
         "evaluate_pseudo_labels", "evaluate_ca_labels", "ctlr_change", "evaluate", "train_supervised",
         "evaluate_supervised", "weak_vs_full", "export_voc_test"},
        ["pseudo_labels", "class_agnostic_labels", "segmentation", "ctlr_change", "weak_vs_full"],
    ),
    "coco14_paper": (
        {"index_dataset", "validate_inputs", "extract_saliency", "train_classifier", "dump_cams", "fuse_initial_labels",
         "train_joint", "predict", "predict_train", "refine_ctlr", "retrain", "postprocess_crf", "evaluate_pseudo_labels",
         "evaluate_ca_labels", "evaluate"},
        ["pseudo_labels", "class_agnostic_labels", "segmentation", "ctlr_change"],
    ),
    "cityscapes_sonet": (
        {"index_dataset", "validate_inputs", "train_classifier", "dump_cams", "train_objectness", "objectness_maps",
         "sonet_labels", "train_sonet", "train_sonet_supervised", "predict", "postprocess_crf", "evaluate_sonet_labels",
         "evaluate_sonet", "evaluate_sonet_vs_full", "sonet_vs_full"},
        ["sonet_pseudo_labels", "sonet_segmentation_box", "sonet_weak_vs_full"],
    ),
    "openimages_to_voc12_sonet": (
        {"index_dataset", "validate_inputs", "validate_eval_inputs", "train_objectness", "objectness_maps",
         "eval_objectness_maps", "sonet_labels", "eval_sonet_labels", "train_sonet", "finetune_sonet", "predict",
         "postprocess_crf", "evaluate_sonet_cross_dataset", "sonet_cross_dataset_table"},
        ["sonet_segmentation_o_to_v", "sonet_cross_dataset"],
    ),
    "voc12_sonet": (
        {"index_dataset", "index_test_split", "validate_inputs", "extract_saliency", "train_classifier", "dump_cams",
         "train_objectness", "objectness_maps", "sonet_labels", "train_sonet", "train_deeplabv3", "train_sonet_supervised",
         "predict", "postprocess_crf", "evaluate_sonet_labels", "evaluate_guidance_labels", "evaluate_sonet_table",
         "sonet_paper_table", "export_sonet_test"},
        ["sonet_table1a", "sonet_table1b", "sonet_table2", "sonet_table5a", "sonet_table5b", "sonet_fig3c"],
    ),
    "voc12_sample": (
        {"index_dataset", "validate_inputs", "extract_saliency", "train_classifier", "dump_cams", "fuse_initial_labels",
         "train_joint", "predict", "predict_train", "refine_ctlr", "retrain", "postprocess_crf", "cam_thresholds",
         "evaluate_pseudo_labels", "evaluate_ca_labels", "ctlr_change", "evaluate", "train_supervised",
         "evaluate_supervised", "weak_vs_full"},
        ["pseudo_labels", "class_agnostic_labels", "segmentation", "ctlr_change", "weak_vs_full"],
    ),
}  # fmt: skip


# the rules `wsss doctor` prices job by job (wsss_core.cost.plan): as many steps as the DAG has jobs
ONE_STEP_PER_JOB = {"train_classifier", "dump_cams", "train_joint", "retrain", "train_supervised", "train_objectness",
                    "objectness_maps", "eval_objectness_maps", "train_sonet", "train_sonet_supervised", "finetune_sonet"}  # fmt: skip


def _the_price_plans_the_dag(
    config: Path, paths: dict[str, Path], targets: list[str], planned: dict[str, int], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rules `wsss doctor` prices for the config are the compute rules its DAG ran, with as many training jobs."""
    monkeypatch.chdir(workdir)
    merged, problems = load_config([config, MINIATURE], [f"{key}={value}" for key, value in paths.items()])
    assert problems == []
    sizes, _ = run_sizes(merged)
    has_boxes = merged["dataset"]["kind"] != "voc" or (Path(merged["data_root"]) / "Annotations").is_dir()
    steps = plan_run(merged, sizes, has_boxes=has_boxes, targets=targets)
    priced = Counter(step.rule for step in steps)
    assert set(priced) == set(planned) & PRICED_RULES, set(priced) ^ (set(planned) & PRICED_RULES)
    assert {rule: priced[rule] for rule in ONE_STEP_PER_JOB if rule in priced} == {rule: planned[rule] for rule in ONE_STEP_PER_JOB if rule in planned}


def test_every_shipped_config_has_a_miniature_run() -> None:
    assert {config.stem for config in CONFIGS.glob("*.yaml")} == set(TREES) == set(CHAINS)


@pytest.mark.parametrize("name", sorted(TREES))
def test_shipped_config_runs_end_to_end_in_miniature(
    name: str, tmp_path: Path, paper_weights: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CONFIGS / f"{name}.yaml"
    workdir = tmp_path / "work"
    workdir.mkdir()
    paths = TREES[name](tmp_path, workdir, paper_weights)
    assert header_data_keys(config) == set(paths)  # the data paths the header's commands set
    targets = header_targets(config)
    arguments = [*targets, "--configfile", str(config), str(MINIATURE)]
    if paths:
        arguments += ["--config", *(f"{key}={value}" for key, value in paths.items())]
    result = run_snakemake(workdir, *arguments, timeout=1500)

    planned = job_counts(result.stdout + result.stderr)
    rules, tables = CHAINS[name]
    assert rules <= set(planned), rules - set(planned)
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", result.stdout + result.stderr)
    assert done and done[-1][0] == done[-1][1] == str(sum(planned.values())), done
    again = run_snakemake(workdir, *arguments, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr  # and nothing is left to do
    if paths:  # a mistyped data_root on the finished run: named before any job, not "nothing to be done"
        nowhere = [*arguments[: arguments.index("--config")], "--config", f"data_root={tmp_path / 'nowhere'}"]
        command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *nowhere]
        failed = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert failed.returncode != 0 and f"{tmp_path / 'nowhere'}: data_root not found" in failed.stdout + failed.stderr

    _the_price_plans_the_dag(config, paths, targets, planned, workdir, monkeypatch)
    run = workdir / "results" / name
    # the run's stored configuration holds each stage's effective settings, those `wsss config` resolves
    merged, _ = load_config([config, MINIATURE], [f"{key}={value}" for key, value in paths.items()])
    stored = yaml.safe_load((run / "config.yaml").read_text())
    for stage in run_stages(merged):
        section = STAGE_SECTIONS[stage][-1].split(".")[0]
        assert stored[section]["train"] == merged[section]["train"], stage
    for table in tables:
        frame = pd.read_csv(run / "metrics" / f"{table}.csv")
        assert len(frame) > 0, table
        measure = "changed_pct" if table == "ctlr_change" else "mIoU"  # the one table without ground truth
        scores = frame[[column for column in frame.columns if column.startswith(measure)]].to_numpy(dtype=float)
        assert scores.size and np.isfinite(scores).all() and (scores >= 0).all() and (scores <= 100).all(), table
    if name in OUTPUT_CHECKS:
        OUTPUT_CHECKS[name](run, planned)
