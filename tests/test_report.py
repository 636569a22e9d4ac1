"""The run's report: figure and table rules after the tiny DAG, the HTML in headless Chromium, SONet and no-GT runs."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from browser import chromium, require_chromium
from PIL import Image
from workflow_helpers import TINY, job_counts, merge, run_snakemake, write_config

from wsss_core.evaluate.grids import Panel, draw_grid
from wsss_core.evaluate.worst import worst_images

CATEGORIES = ("Tables", "Per-class IoU", "Training curves", "Training images", "Evaluation images", "Worst images")


@pytest.fixture(scope="module")
def report_run(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the finished tiny run with `snakemake report` and `--report` done; (workdir, output of the run)."""
    workdir = shutil.copytree(finished_run, tmp_path_factory.mktemp("report") / "workflow")  # keeps mtimes
    config = str(workdir / "tiny.yaml")
    result = run_snakemake(workdir, "report", "--configfile", config)
    run_snakemake(workdir, "report", "--report", "results/tiny/report.html", "--configfile", config)
    return workdir, result.stdout + result.stderr


def test_report_rules_draw_every_figure_and_table_without_rerunning_the_dag(report_run: tuple[Path, str]) -> None:
    workdir, output = report_run
    ran = set(job_counts(output))
    assert ran == {
        "report", "report_table", "figure_training_images", "figure_evaluation_images",
        "figure_worst_images", "figure_class_iou", "figure_training_curves",
    }
    report = workdir / "results" / "tiny" / "report" / "ctlr"
    for figure in ("figures/training_images", "figures/evaluation_images", "figures/class_iou",
                   "figures/training_curves", "worst/disagreement", "worst/lowest_iou"):
        with Image.open(report / f"{figure}.png") as image:
            assert image.format == "PNG" and min(image.size) > 200, figure
    pseudo = (report / "tables" / "pseudo_labels.html").read_text()
    assert "<table" in pseudo and all(row in pseudo for row in ("sCAM-initial", "pCAM-initial", "CTLR-refined"))
    ranking = pd.read_csv(report / "worst" / "ranking.csv")
    assert len(ranking) == 12 and ranking["disagreement"].is_monotonic_decreasing
    assert ranking[["miou_first", "miou_second"]].stack().between(0, 100).all()
    start = (report / "start.rst").read_text()  # the report's start page: headline numbers over the template
    assert start.startswith("**Headline**: pseudo-label mIoU ") and "wsss-flow run" in start
    closing = re.search(r"wsss-flow tiny: pseudo-label mIoU ([\d.]+) -> ([\d.]+); final mIoU \(retrain, ms_crf\) ([\d.]+)", output)
    table = pd.read_csv(workdir / "results" / "tiny" / "metrics" / "pseudo_labels.csv").set_index("labels")
    assert closing and float(closing.group(1)) == pytest.approx(table.loc["pCAM-initial", "mIoU"])


def test_report_html_renders_in_headless_chromium(report_run: tuple[Path, str]) -> None:
    require_chromium()
    workdir, _ = report_run
    html = workdir / "results" / "tiny" / "report.html"
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", html.read_text()), "report not self-contained"
    dom = chromium("--dump-dom", html.as_uri()).stdout
    rendered = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)
    for text in (*CATEGORIES, "wsss-flow run", "Backbone", "tiny", "Dataset", "Headline", "pseudo-label mIoU", "final mIoU (retrain, ms_crf)"):
        assert text in rendered, f"{text!r} not in the rendered report"
    results = json.loads(re.search(r"var results = (\{.*?\});\n", dom, flags=re.S).group(1))
    tables = {Path(path).stem: entry for path, entry in results.items() if path.endswith(".html")}
    assert set(tables) == {"pseudo_labels", "class_agnostic_labels", "segmentation"}
    segmentation = base64.b64decode(tables["segmentation"]["data_uri"].split("base64,", 1)[1]).decode()
    assert "<table" in segmentation and "ms_crf" in segmentation and "mIoU" in segmentation
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", dom, flags=re.S).group(1))
    assert set(categories) == set(CATEGORIES)
    figures = [path for files in categories.values() for paths in files.values() for path in paths if path.endswith(".png")]
    assert len(figures) == 6 and all(results[path]["mime_type"] == "image/png" for path in figures)
    screenshot = workdir / "results" / "tiny" / "report.png"
    chromium("--hide-scrollbars", "--window-size=1400,900", f"--screenshot={screenshot}", html.as_uri())
    with Image.open(screenshot) as image:
        assert image.size == (1400, 900)
    print(f"report screenshot: {screenshot}")


def test_sonet_report_draws_its_labels_and_reuses_the_shared_steps(report_run: tuple[Path, str], tmp_path: Path) -> None:
    workdir = shutil.copytree(report_run[0], tmp_path / "workflow")
    result = run_snakemake(workdir, "report", "--configfile", str(workdir / "tiny.yaml"), "--config", "method=sonet")
    ran = set(job_counts(result.stdout + result.stderr))
    assert {"sonet_labels", "train_sonet", "figure_training_images", "figure_worst_images"} <= ran
    assert not ran & {"make_dataset", "train_classifier", "dump_cams", "train_joint"}
    report = workdir / "results" / "tiny" / "report" / "sonet"
    log = (workdir / "results" / "tiny" / "logs" / "report" / "sonet" / "figure_training_images.log").read_text()
    assert "drew 6 images" in log
    assert (report / "tables" / "sonet_pseudo_labels.html").read_text().count("G^B_ign") == 2
    assert (workdir / "results" / "tiny" / "report" / "ctlr" / "figures" / "training_images.png").is_file()
    assert "best SONet pseudo labels" in result.stdout + result.stderr


@pytest.fixture(scope="module")
def folder_without_gt(finished_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run's dataset as a folder dataset without masks/."""
    root = shutil.copytree(finished_run / "results" / "tiny" / "dataset", tmp_path_factory.mktemp("nogt") / "data")
    shutil.rmtree(root / "masks")
    return root


def test_report_of_a_folder_without_ground_truth_leaves_the_gt_parts_out(folder_without_gt: Path, tmp_path: Path) -> None:
    config = merge(TINY, {"dataset": {"kind": "folder"}, "data_root": str(folder_without_gt)})
    result = run_snakemake(tmp_path, "-n", "report", "--configfile", str(write_config(tmp_path / "c.yaml", config)))
    planned = job_counts(result.stdout)
    assert {"figure_training_images", "figure_evaluation_images", "figure_worst_images", "report"} <= set(planned)
    assert not set(planned) & {"evaluate", "evaluate_pseudo_labels", "figure_class_iou", "report_table"}
    assert "lowest_iou.png" not in result.stdout


def test_figures_of_a_dataset_without_ground_truth(finished_run: Path, folder_without_gt: Path, tmp_path: Path) -> None:
    labels = finished_run / "results" / "tiny" / "labels"
    panels = [
        Panel("image", "image"),
        Panel("GT", "gt"),
        Panel("pCAM", "pcam"),
        Panel("initial", "labels", labels / "initial_pcam"),
        Panel("refined", "labels", labels / "refined_seg"),
    ]
    cams = finished_run / "results" / "tiny" / "cams.h5"
    titles = draw_grid(folder_without_gt, ["train_0000", "train_0001"], panels, tmp_path / "g.png", cams_path=cams)
    assert titles == ["image", "pCAM", "initial", "refined"]
    ranking = worst_images(
        folder_without_gt, "train", panels, tmp_path / "r.csv", tmp_path / "d.png", None, count=3, cams_path=cams
    )
    assert list(ranking.columns) == ["image_id", "disagreement"] and (tmp_path / "d.png").is_file()
    with pytest.raises(ValueError, match="lacks ground truth"):
        worst_images(folder_without_gt, "train", panels, tmp_path / "r.csv", tmp_path / "d.png", tmp_path / "l.png",
                     count=3, cams_path=cams)
