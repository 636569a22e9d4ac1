"""Target `ablations`: one DAG for every table, no rule instance planned twice; the tables and ablations.md."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pandas as pd
from workflow_helpers import REPO, SNAKEMAKE, TINY, empty_voc_tree, run_snakemake, write_config

from wsss_core.evaluate.ablations import PAPER, ctlr_tables, sonet_tables, write_ablations


def _planned_jobs(output: str) -> list[tuple[str, tuple[str, ...]]]:
    """(rule, outputs) of every job of a dry run's listing."""
    jobs = []
    for block in re.split(r"\n(?=rule \w+:|localrule \w+:)", output):
        match = re.match(r"(?:local)?rule (\w+):", block)
        if match:
            outputs = re.search(r"^\s+output: (.+)$", block, flags=re.MULTILINE)
            jobs.append((match.group(1), tuple(outputs.group(1).split(", ")) if outputs else ()))
    return jobs


def test_ablations_plan_every_shared_step_once(tmp_path: Path) -> None:
    result = run_snakemake(tmp_path, "-n", "ablations", "--configfile", str(write_config(tmp_path / "c.yaml", TINY)))
    jobs = _planned_jobs(result.stdout)
    outputs = Counter(path for _, paths in jobs for path in paths)
    assert [path for path, count in outputs.items() if count > 1] == []
    rules = Counter(rule for rule, _ in jobs)
    shared = ("make_dataset", "extract_saliency", "train_classifier", "dump_cams", "train_joint", "retrain", "refine_ctlr")
    assert all(rules[rule] == 1 for rule in shared), rules
    assert rules["train_ablation"] == 4 and rules["fuse_initial_labels"] == 2  # pCAM and sCAM labels, one shard
    assert rules["train_objectness"] == 2 and rules["objectness_maps"] == 2
    # C_m, B, G^B_ign x 2 settings, G^Cm and G^B x (2 objectness settings + saliency)
    assert rules["sonet_labels"] == 10
    assert len(jobs) == sum(rules.values()) and rules["ablations"] == 1


def _write(path: Path, rows: list[dict]) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_ablation_tables_carry_the_paper_numbers(tmp_path: Path) -> None:
    seg = [{"model": m, "postprocessing": p, "mIoU": 10.0 * i + j}
           for i, m in enumerate(["joint", "retrain"]) for j, p in enumerate(["plain", "ms", "crf", "ms_crf"])]
    variants = [{"model": f"ablation-{v}", "postprocessing": "plain", "mIoU": 1.0 + i}
                for i, v in enumerate(["ss", "ss_cls", "ss_ca", "scam"])]
    pseudo = [{"labels": n, "mIoU": 30.0 + i, "F1": 40.0 + i} for i, n in enumerate(["sCAM-initial", "pCAM-initial", "CTLR-refined"])]
    ca = [{"labels": n, "mIoU": 50.0 + i, "F1": 60.0 + i} for i, n in enumerate(["saliency", "online-CA (joint)", "CTLR-refined-CA"])]
    paths = {
        "pseudo_labels": _write(tmp_path / "p.csv", pseudo),
        "class_agnostic_labels": _write(tmp_path / "ca.csv", ca),
        "segmentation": _write(tmp_path / "s.csv", seg),
        "segmentation_variants": _write(tmp_path / "v.csv", variants),
    }
    tables = ctlr_tables(paths)
    assert tables["ctlr_table5"]["mIoU"].tolist() == [1.0, 2.0, 3.0, 0.0]
    assert tables["ctlr_table6"]["SS mIoU"].tolist() == [4.0, 0.0]
    assert tables["ctlr_table7"][["SS pseudo mIoU", "CA pseudo F1", "SS mIoU"]].values.tolist() == [[31, 60, 0], [32, 62, 10]]
    assert tables["ctlr_table8"][PAPER].tolist() == [66.1, 67.2, 68.2, 69.7]
    sonet = {
        "sonet_pseudo_labels": _write(tmp_path / "sp.csv", [{"labels": "G^Cm (overlapping)", "mIoU": 5.0, "F1": 1.0}]),
        "sonet_segmentation_image": _write(tmp_path / "si.csv", [{"model": "sonet-cam_objectness-overlapping", "postprocessing": "ms_crf", "mIoU": 7.0}]),
        "sonet_segmentation_box": _write(tmp_path / "sb.csv", [{"model": "sonet-box-none", "postprocessing": "plain", "mIoU": 8.0}]),
        "guidance_labels": _write(tmp_path / "g.csv", [{"labels": "G^Cm (saliency)", "mIoU": 9.0, "F1": 2.0}]),
    }
    tables.update(sonet_tables(sonet))
    assert tables["sonet_table1a"][PAPER].tolist() == [70.6]
    paper_1b = tables["sonet_table1b"][PAPER]
    assert paper_1b.iloc[0] == 70.5 and pd.isna(paper_1b.iloc[1])  # the paper gives only the CRF-ed numbers
    write_ablations(tables, tmp_path / "tables", tmp_path / "ablations.md", "tiny")
    markdown = (tmp_path / "ablations.md").read_text()
    assert markdown.count("\n## ") == 7 and "| SS + cls + CA | 0.0 | 65.0 |" in markdown
    assert sorted(p.stem for p in (tmp_path / "tables").glob("*.csv")) == sorted(tables)


def test_ablations_of_a_photo_tree_without_boxes_or_objectness_source(tmp_path: Path) -> None:
    """The shared sample's shape: VOC photos with masks and saliency maps, no XML boxes, no objectness
    source: the CTLR tables only; SONet settings that need what the tree lacks fail at the start."""
    tree = empty_voc_tree(tmp_path / "voc")
    shutil.rmtree(tree / "Annotations")
    shutil.copy(tree / "ImageSets" / "Segmentation" / "train.txt", tree / "train.txt")  # the sample's id list
    source = tmp_path / "source"  # a folder objectness source (an empty one: only its layout is read here)
    for folder in ("images", "masks"):
        (source / folder).mkdir(parents=True)
    base = ["--configfile", str(REPO / "configs" / "voc12_sample.yaml"), "--config", f"data_root={tree}"]
    rules = Counter(rule for rule, _ in _planned_jobs(run_snakemake(tmp_path, "-n", "ablations", *base).stdout))
    assert rules["train_ablation"] == 4 and rules["ablation_tables"] == 1
    assert not {"sonet_labels", "train_objectness", "train_sonet"} & set(rules), rules
    for override, message in (
        (["method=sonet"], "objectness.source_kind: generated needs dataset.kind: generated"),
        (["method=sonet", "supervision=box", f"objectness={{'source_kind': 'folder', 'source_root': '{source}'}}"],
         "supervision: box needs object boxes"),
    ):  # fmt: skip
        command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n", *base, *override]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode != 0 and message in result.stdout + result.stderr, result.stdout[-2000:]
