"""The paper configs plan the full DAG on a VOC-shaped tree of empty files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from workflow_helpers import empty_voc_tree

REPO = Path(__file__).resolve().parents[1]
CHAIN = {
    "index_dataset",
    "validate_inputs",
    "gather_validation",
    "extract_saliency",
    "gather_saliency",
    "train_classifier",
    "dump_cams",
    "gather_cams",
    "fuse_initial_labels",
    "gather_initial_labels",
    "train_joint",
    "predict",
    "refine_ctlr",
    "gather_refined_labels",
    "retrain",
    "postprocess_crf",
    "gather_crf",
    "cam_thresholds",
    "evaluate_pseudo_labels",
    "evaluate_ca_labels",
    "evaluate",
    "train_supervised",
    "evaluate_supervised",
    "weak_vs_full",
    "export_voc_test",
}


def test_voc12_paper_config_plans_every_rule(tmp_path: Path) -> None:
    data_root = empty_voc_tree(tmp_path / "VOC2012")
    command = [
        sys.executable, "-m", "snakemake", "all", "supervised", "voc_test",
        "-s", str(REPO / "Snakefile"), "-d", str(tmp_path / "work"), "-n", "--cores", "2",
        "--configfile", str(REPO / "configs" / "voc12_paper.yaml"), "--config", f"data_root={data_root}",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    table = result.stdout.split("Job stats:", 1)[1]
    scheduled = {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, flags=re.MULTILINE)}
    assert CHAIN <= scheduled, CHAIN - scheduled
    assert "results/voc12_paper/predictions/joint/train_aug.h5" in result.stdout
    assert "results/voc12_paper/VOC2012/Segmentation/comp6_test_cls" in result.stdout
