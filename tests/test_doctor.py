"""wsss doctor: the environment, the configuration's problems and the estimated price of a run, before it starts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from workflow_helpers import REPO, empty_voc_tree

from wsss_core.cli import main
from wsss_core.cost.gpus import GPUS, gpu_spec


def _rows(report: str) -> dict[str, list[str]]:
    """{rule: [the rest of each of its price rows]} of a report."""
    rows: dict[str, list[str]] = {}
    for line in report.split("price (an estimate)", 1)[1].splitlines():
        match = re.match(r"^  (\w+)\s+(.*\d)\s*$", line)
        if match and not line.strip().startswith(("total", "rule", "images")):
            rows.setdefault(match.group(1), []).append(match.group(2))
    return rows


def test_doctor_on_the_demo_config_checks_and_prices_it_for_this_cpu(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """No GPU (as in CI): the demo's GPU rules run on the CPU, priced at the speed its network trains here."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["doctor"]) == 0
    report = capsys.readouterr().out
    sections = [line for line in report.splitlines() if not line.startswith(" ")]
    assert sections == ["environment", "checks", "price (an estimate)"]
    assert "  no problem found" in report
    assert re.search(r"  python [\d.]+, torch \S+ \(", report) and "snakemake-executor-plugin-slurm" in report
    assert "images: train 400, eval 100" in report  # the generator's sizes
    rows = _rows(report)
    assert {"train_classifier", "dump_cams", "train_joint", "refine_ctlr", "retrain", "predict", "postprocess_crf"} <= set(rows)
    assert "train_supervised" not in rows  # target `all` only
    assert "estimated for this machine's CPU" in report
    total = re.search(r"total: ([\d.]+) h \((\d+) min\); peak host memory ([\d.]+) GiB", report)
    assert total and int(total.group(2)) > 0 and float(total.group(3)) > 0


def test_doctor_prices_a_paper_config_for_a_named_gpu_and_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tree = empty_voc_tree(tmp_path / "VOC2012")
    argv = ["doctor", "all", "supervised", "voc_test", "--configfile", str(REPO / "configs" / "voc12_paper.yaml"),
            "--config", f"data_root={tree}", "--gpu", "a100", "--cores", "16"]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 1
    report = capsys.readouterr().out
    assert "  problem: weights/ilsvrc-cls_rna-a1_cls1000_ep-0001.pth: backbone weights not found (model.backbone_options.weights; " in report
    assert f"estimated for {GPUS['a100'].name} (named with --gpu;" in report and "16 CPU cores" in report
    assert "images: train 2, eval 1, test 1" in report  # counted from the tree's id lists
    rows = _rows(report)
    assert {"train_supervised", "train_joint"} <= set(rows) and len(rows["predict"]) == 3  # eval x2, supervised, test
    total = re.search(r"total: ([\d.]+) h \((\d+) min\); peak GPU memory ([\d.]+) GiB of 80, peak host memory ([\d.]+) GiB", report)
    assert total and float(total.group(3)) > 0 and float(total.group(4)) > 0
    with pytest.raises(SystemExit):
        main(["doctor", "--configfile", str(REPO / "configs" / "voc12_paper.yaml"), "--config", "data_root=/nowhere", "shard=3"])
    report = capsys.readouterr().out
    assert "  problem: unknown config key 'shard' (did you mean 'shards'?)" in report
    assert "price (an estimate)" not in report  # nothing to price without a valid configuration


def test_gpu_names_resolve_as_torch_reports_them() -> None:
    assert gpu_spec("NVIDIA H100 80GB HBM3") == GPUS["h100"]
    assert gpu_spec("NVIDIA H100 PCIe") == GPUS["h100-pcie"]
    assert gpu_spec("h200") == GPUS["h200"]
    with pytest.raises(KeyError, match="no peak figures for GPU 'Tesla K80'"):
        gpu_spec("Tesla K80")
