"""Repeated runs over seeds: the shared deterministic stages, tables over seeds, paired
differences, the headline, the report's charts and ``wsss compare``."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from workflow_helpers import REPO, TINY, compare_runs, empty_voc_tree, job_counts, merge, run_snakemake, write_config

from wsss_core.cli import main
from wsss_core.cost.plan import SHARED_RULES, plan_run
from wsss_core.evaluate.ablations import ablation_page, ablations_over_seeds
from wsss_core.evaluate.charts import class_iou_chart, training_curves
from wsss_core.evaluate.compare import compare_table
from wsss_core.evaluate.headline import headline
from wsss_core.evaluate.seeds import aggregate_tables, paired_differences, statistic_rows, tables_over_seeds
from wsss_core.io import InputError

# t(0.975, 2): the 95 % two-sided quantile of Student's t with 2 degrees of freedom
T_975_2 = 4.302652729911275
# the rules whose outputs do not depend on a seed
DETERMINISTIC_RULES = ("make_dataset", "validate_inputs", "gather_validation", "extract_saliency", "gather_saliency")


def _segmentation(miou_retrain: float, bike: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"model": ["joint", "retrain"], "postprocessing": ["ms_crf", "ms_crf"], "background": [80.0, 90.0],
         "bike": [bike - 10, bike], "mIoU": [miou_retrain - 5, miou_retrain]}
    )


def test_aggregation_of_known_tables_gives_their_mean_std_and_n() -> None:
    table = aggregate_tables({0: _segmentation(50.0, 30.0), 1: _segmentation(52.0, 33.0), 2: _segmentation(54.0, 36.0)})
    assert list(table.columns) == ["seed", "model", "postprocessing", "background", "bike", "mIoU"]
    assert list(table["seed"]) == ["0", "0", "1", "1", "2", "2", "mean", "mean", "std", "std", "n", "n"]
    mean, std, n = (statistic_rows(table, name) for name in ("mean", "std", "n"))
    assert list(mean["model"]) == ["joint", "retrain"] and list(mean["mIoU"]) == [47.0, 52.0]
    assert list(std["mIoU"]) == [2.0, 2.0] and list(std["bike"]) == [3.0, 3.0] and list(std["background"]) == [0.0, 0.0]
    assert list(n["mIoU"]) == [3, 3]
    # a run without seeds is its own mean, with no spread and n = 1
    single = _segmentation(50.0, 30.0)
    assert statistic_rows(single, "mean").equals(single)
    assert statistic_rows(single, "std")["mIoU"].isna().all() and list(statistic_rows(single, "n")["mIoU"]) == [1, 1]


def test_a_nan_cell_is_left_out_of_its_column_statistics() -> None:
    tables = {seed: _segmentation(50.0 + seed, 30.0) for seed in range(3)}
    tables[1].loc[1, "bike"] = float("nan")  # a class absent from one seed's predictions and ground truth
    table = aggregate_tables(tables)
    assert statistic_rows(table, "n").loc[1, "bike"] == 2 and statistic_rows(table, "mean").loc[1, "bike"] == 30.0


def test_the_labels_a_mean_runs_over_may_differ_between_seeds() -> None:
    # a seed that predicts a class absent from the ground truth scores it (IoU 0): its mean runs over one more label
    tables = {seed: _segmentation(50.0, 30.0).assign(mean_over="background bike") for seed in range(2)}
    tables[1].loc[1, "mean_over"] = "background bike bus"
    mean = statistic_rows(aggregate_tables(tables))
    assert list(mean["mean_over"]) == ["background bike", "background bike bus"]


def test_tables_of_other_rows_are_refused_with_the_files_named(tmp_path: Path) -> None:
    paths = {0: tmp_path / "seed_0.csv", 1: tmp_path / "seed_1.csv"}
    _segmentation(50.0, 30.0).to_csv(paths[0], index=False)
    _segmentation(50.0, 30.0).iloc[:1].to_csv(paths[1], index=False)
    with pytest.raises(InputError, match=r"seed_0\.csv.*seed_1\.csv.*seed 1 has other rows"):
        tables_over_seeds(paths, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_paired_differences_have_the_known_mean_and_t_interval() -> None:
    # SS only vs SS + CA: differences 1, 2, 3 over three seeds -> 2 +- t(0.975, 2) x 1 / sqrt(3)
    tables = {
        seed: pd.DataFrame({"branches": ["SS only", "SS + CA"], "mIoU": [40.0 + seed * 5, 40.0 + seed * 5 + seed + 1]})
        for seed in range(3)
    }
    differences = paired_differences(tables)
    assert len(differences) == 1
    row = differences.iloc[0]
    assert row["branches"] == "SS + CA" and row["column"] == "mIoU" and row["n"] == 3
    half = T_975_2 / math.sqrt(3)
    assert row["difference"] == pytest.approx(2.0)
    assert (row["low"], row["high"]) == (pytest.approx(2.0 - half), pytest.approx(2.0 + half))


def test_ablations_over_seeds_write_means_and_intervals(tmp_path: Path) -> None:
    dirs = {}
    for seed, gain in ((0, 1.0), (1, 2.0), (2, 3.0)):
        dirs[seed] = tmp_path / f"seed_{seed}"
        dirs[seed].mkdir()
        pd.DataFrame(
            {"branches": ["SS only", "SS + cls", "SS + CA", "SS + cls + CA"],
             "mIoU": [40.0, 40.5, 40.0 + gain, 41.0 + gain], "paper (VOC12)": [None, None, None, 65.0]}
        ).to_csv(dirs[seed] / "ctlr_table5.csv", index=False)
    out = tmp_path / "over"
    differences = ablations_over_seeds(dirs, out, tmp_path / "ablations.md", "demo")
    table5 = differences["ctlr_table5"].set_index("branches")
    assert table5.loc["SS + CA", "difference"] == pytest.approx(2.0)
    assert table5.loc["SS + CA", "high"] - table5.loc["SS + CA", "low"] == pytest.approx(2 * T_975_2 / math.sqrt(3))
    assert table5.loc["SS + cls", "low"] == table5.loc["SS + cls", "high"] == pytest.approx(0.5)  # the same for every seed
    assert set(pd.read_csv(out / "ctlr_table5.csv", dtype={"seed": str})["seed"]) == {"0", "1", "2", "mean", "std", "n"}
    markdown = (tmp_path / "ablations.md").read_text()
    assert "over 3 seeds (0, 1, 2)" in markdown
    assert "| SS + CA | 42.0 +- 1.0 (3 seeds) |  |" in markdown
    assert "Paired differences against `SS only`" in markdown and "| SS + CA | +2.00 [-0.48, +4.48] |" in markdown
    # the report's page of the same tables
    assert ablation_page(out, tmp_path / "ablations.html", "Ablations") == ["ctlr_table5"]
    page = (tmp_path / "ablations.html").read_text()
    assert "42.0 +- 1.0 (3 seeds)" in page and "+2.00 [-0.48, +4.48]" in page and "95% t-interval" in page


def test_headline_over_seeds_gives_mean_std_and_n(tmp_path: Path) -> None:
    seeds = {seed: _segmentation(59.4 + delta, 30.0) for seed, delta in ((0, -0.6), (1, 0.0), (2, 0.6))}
    aggregate_tables(seeds).to_csv(tmp_path / "segmentation.csv", index=False)
    assert headline({"segmentation": tmp_path / "segmentation.csv"}) == "final mIoU (retrain, ms_crf) 59.4 +- 0.6 (3 seeds)"
    seeds[0].to_csv(tmp_path / "one.csv", index=False)
    assert headline({"segmentation": tmp_path / "one.csv"}) == "final mIoU (retrain, ms_crf) 58.80"


def test_report_charts_take_tables_over_seeds(tmp_path: Path) -> None:
    table = aggregate_tables({seed: _segmentation(50.0 + seed, 30.0 + seed) for seed in range(3)})
    table.to_csv(tmp_path / "segmentation.csv", index=False)
    plotted = class_iou_chart([tmp_path / "segmentation.csv"], tmp_path / "class_iou.png")
    assert plotted.loc["retrain", "bike"] == 31.0 and (tmp_path / "class_iou.png").stat().st_size > 0
    logs = []
    for seed in range(2):
        logs.append(tmp_path / f"joint_{seed}.csv")
        pd.DataFrame({"epoch": [1, 2], "loss": [1.0 + seed, 0.5], "loss_seg": [0.7, 0.3]}).to_csv(logs[-1], index=False)
    assert training_curves({"joint": logs}, tmp_path / "curves.png") == ["joint"]


def test_compare_marks_only_differences_beyond_the_seeds_spread() -> None:
    a = aggregate_tables({seed: _segmentation(50.0 + seed * 0.1, 30.0 + seed * 3) for seed in range(3)})
    b = aggregate_tables({seed: _segmentation(55.0 + seed * 0.1, 31.0 + seed * 3) for seed in range(3)})
    compared = compare_table(a, b).set_index(["model", "number"])
    retrain = compared.loc[("retrain", "mIoU")]
    assert retrain["B - A"] == pytest.approx(5.0) and retrain["beyond spread"] == "*"
    assert compared.loc[("retrain", "bike"), "B - A"] == pytest.approx(1.0)
    assert compared.loc[("retrain", "bike"), "beyond spread"] == ""  # 1 point against a std of 3
    single = compare_table(_segmentation(50.0, 30.0), b)  # one seed: nothing can be told from the spread
    assert set(single["beyond spread"]) == {""}


def test_seeds_plan_no_deterministic_job_twice(tmp_path: Path) -> None:
    config = write_config(tmp_path / "seeds.yaml", merge(TINY, {"seeds": [0, 1, 2]}))
    result = run_snakemake(tmp_path, "-n", "all", "supervised", "ablations", "report", "demo_sonet", "--configfile", str(config))
    counts = job_counts(result.stdout)
    assert {rule: counts[rule] for rule in DETERMINISTIC_RULES} == dict.fromkeys(DETERMINISTIC_RULES, 1)
    for rule in ("train_classifier", "train_joint", "retrain", "train_supervised", "ablation_tables"):
        assert counts[rule] == 3, rule
    assert counts["train_ablation"] == 3 * 4 and counts["ablations_over_seeds"] == 1 and counts["report"] == 1
    # every output of a deterministic job is shared; every training output lives in a seed's directory
    for rule, outputs in re.findall(r"rule (\w+):\n(?:    .*\n)*?    output: (.+)\n", result.stdout):
        in_seed_dir = "/seed_" in outputs
        assert in_seed_dir != (rule in DETERMINISTIC_RULES or rule in {"tables_over_seeds", "ablations_over_seeds"} or rule.startswith(("report", "figure"))), (rule, outputs)


def test_doctor_prices_every_stage_but_the_shared_ones_once_per_seed() -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    sizes = {"train": 10, "eval": 4, "all": 14}
    single = plan_run(config, sizes, has_boxes=True, targets=["all", "supervised"])
    seeded = plan_run({**config, "seeds": [0, 1, 2]}, sizes, has_boxes=True, targets=["all", "supervised"])
    assert [step.rule for step in seeded] == [step.rule for step in single]
    for one, three in zip(single, seeded):
        assert three.images == (one.images if one.rule in SHARED_RULES else 3 * one.images), one.rule
    assert {step.rule for step in single} & SHARED_RULES == SHARED_RULES



def test_doctor_prints_each_rule_with_its_seeds_in_full(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The price of a run over seeds names the seeds in every per-seed row, the longest "what" unclipped."""
    monkeypatch.chdir(tmp_path)
    tree = empty_voc_tree(tmp_path / "VOC2012")
    argv = ["doctor", "--configfile", str(REPO / "configs" / "voc12_paper.yaml"), "--config", f"data_root={tree}", "seeds=[0,1,2]", "--gpu", "h100"]
    with pytest.raises(SystemExit):  # the paper's weights file is not here: a problem, the price still printed
        main(argv)
    report = capsys.readouterr().out
    rows = [line for line in report.split("price (an estimate)", 1)[1].splitlines() if re.match(r"^  (predict|postprocess_crf|train_joint) ", line)]
    assert len(rows) == 3 and all("3 seeds" in row for row in rows)
    assert any("joint and retrain, eval split, 3 seeds" in row for row in rows)


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The tiny CTLR DAG over seeds 0 and 5 run to its end with CTLR's ablations, then its report."""
    workdir = tmp_path_factory.mktemp("seeds")
    config = write_config(workdir / "tiny.yaml", merge(TINY, {"seeds": [0, 5], "sonet": {"ablations": False}}))
    result = run_snakemake(workdir, "all", "ablations", "--configfile", str(config))
    run_snakemake(workdir, "report", "--configfile", str(config))
    return workdir, result


def test_a_run_over_seeds_shares_the_deterministic_stages_and_joins_the_tables(seeds_run) -> None:
    workdir, result = seeds_run
    run = workdir / "results" / "tiny"
    counts = job_counts(result.stderr)
    assert counts["make_dataset"] == counts["extract_saliency"] == counts["gather_validation"] == 1
    assert counts["train_classifier"] == counts["retrain"] == 2 and counts["tables_over_seeds"] == 4
    assert sorted(path.name for path in run.glob("seed_*")) == ["seed_0", "seed_5"]
    assert not (run / "seed_0" / "saliency").exists() and (run / "saliency").is_dir()
    per_seed = {seed: pd.read_csv(run / f"seed_{seed}" / "metrics" / "segmentation.csv") for seed in (0, 5)}
    joined = pd.read_csv(run / "metrics" / "segmentation.csv", dtype={"seed": str})
    assert list(joined["seed"].drop_duplicates()) == ["0", "5", "mean", "std", "n"]
    expected = (per_seed[0]["mIoU"] + per_seed[5]["mIoU"]) / 2
    assert statistic_rows(joined)["mIoU"].to_numpy() == pytest.approx(expected.to_numpy(), abs=0.006)
    assert "(2 seeds)" in re.search(r"wsss-flow tiny: (.+)", result.stdout + result.stderr).group(1)


def test_a_run_over_seeds_reports_and_ablates_over_its_seeds(seeds_run) -> None:
    workdir, result = seeds_run
    run = workdir / "results" / "tiny"
    counts = job_counts(result.stderr)
    assert counts["train_ablation"] == 2 * 4 and counts["ablation_tables"] == 2 and counts["ablations_over_seeds"] == 1
    assert "train_objectness" not in counts  # sonet.ablations: false
    markdown = (run / "ablations.md").read_text()
    assert "over 2 seeds (0, 5)" in markdown and "Paired differences against `SS only`" in markdown
    differences = pd.read_csv(run / "metrics" / "ablations" / "tables" / "ctlr_table5_differences.csv")
    assert list(differences["branches"].unique()) == ["SS + cls", "SS + CA", "SS + cls + CA"] and set(differences["n"]) == {2}
    report = run / "report" / "ctlr"
    assert "+-" in (report / "tables" / "ablations.html").read_text()
    assert "(2 seeds)" in (report / "start.rst").read_text()
    assert (report / "figures" / "class_iou.png").stat().st_size > 0 and (report / "figures" / "training_curves.png").stat().st_size > 0


def test_a_seed_gives_the_tables_of_the_same_seed_in_a_single_run(seeds_run, finished_run: Path) -> None:
    # the single run trains with train.seed 0: seed 0 of the run over seeds is byte for byte the same
    workdir, _ = seeds_run
    single, seed_0 = finished_run / "results" / "tiny", workdir / "results" / "tiny" / "seed_0"
    for directory in ("metrics", "checkpoints", "labels"):  # (the run over seeds also has the ablations' files)
        differing = compare_runs(single / directory, seed_0 / directory)
        assert [path for path in differing if (single / directory / path).exists()] == [], directory
    for table in sorted((single / "metrics").glob("*.csv")):
        assert (seed_0 / "metrics" / table.name).read_bytes() == table.read_bytes(), table.name


def test_wsss_compare_puts_two_runs_side_by_side(seeds_run, finished_run: Path) -> None:
    workdir, _ = seeds_run
    result = subprocess.run(
        [sys.executable, "-m", "wsss_core.cli", "compare", str(finished_run / "results" / "tiny"), str(workdir / "results" / "tiny")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("A: ") and "(1 seed)" in lines[0] and "(2 seeds)" in lines[1] and "+-" in lines[1]
    assert "one of the runs has a single seed" in lines[2]
    assert "== segmentation" in result.stdout and "== pseudo_labels" in result.stdout
    single = pd.read_csv(finished_run / "results" / "tiny" / "metrics" / "segmentation.csv")
    joined = statistic_rows(pd.read_csv(workdir / "results" / "tiny" / "metrics" / "segmentation.csv", dtype={"seed": str}))
    a = single.query("model == 'retrain' and postprocessing == 'ms_crf'")["mIoU"].iloc[0]
    b = joined.query("model == 'retrain' and postprocessing == 'ms_crf'")["mIoU"].iloc[0]
    row = next(line for line in lines if re.match(r"\s*retrain\s+ms_crf\s+mIoU\s", line))
    assert row.split()[3:6] == [f"{a:.2f}", f"{b:.2f}", f"{b - a:.2f}"]
    missing = subprocess.run([sys.executable, "-m", "wsss_core.cli", "compare", "no_such_run", str(workdir)], capture_output=True, text=True)
    assert missing.returncode == 2 and "no_such_run: not a run directory" in missing.stderr
