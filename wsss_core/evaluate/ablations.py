"""Target ``ablations``: the papers' ablation tables from one run's metric tables, next to the papers' numbers.

CTLR (Tables 5-8): branches trained jointly, sCAM vs pCAM, before / after CTLR,
post-processing. SONet (Table 1a/b, Fig. 3c): pseudo labels and SONets by label
kind and objectness setting, and objectness vs saliency as the guidance map.
The ``paper`` columns are the numbers the papers print (PASCAL VOC 2012, their
backbones and data), for orientation only; where the paper's text gives no
number the cell is empty.
"""

from __future__ import annotations

import html
import math
import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from wsss_core.evaluate.seeds import (
    SEED,
    STATISTICS,
    aggregate_tables,
    interval_text,
    mean_std,
    measured_columns,
    paired_differences,
    read_table,
    seed_count,
    statistic_rows,
)
from wsss_core.evaluate.report_tables import html_page
from wsss_core.evaluate.sonet_tables import LABEL_TABLES, MODEL_TABLES, label_set_name
from wsss_core.evaluate.tables import write_table
from wsss_core.io import InputError, atomic_path

# CTLR paper: Sec. 4.3.1 (Table 5: "all three tasks attains the best mIoU of 65% without postprocessing")
# and Sec. 4.3.4 (Table 8: 66.1, +MS 67.2, +CRF 66.1 + 2.1, both 69.7), val set mIoU (%)
PAPER_TABLE5 = {"SS + cls + CA": 65.0}
PAPER_TABLE8 = {"plain": 66.1, "ms": 67.2, "crf": 68.2, "ms_crf": 69.7}
# SONet paper, Table 1 (a) pseudo labels on VOC12 train, (b) SONet on VOC12 val; dagger = non-overlapping O_N
# SONet's Table 1 numbers (wsss_core.evaluate.sonet_tables), by the workflow's label-set and model names
PAPER_SONET_1A = {label_set_name(kind, setting): paper for kind, setting, paper in LABEL_TABLES["table1a"]}
PAPER_SONET_1B = {row.model: row.paper for row in MODEL_TABLES["table1b"]}
# Table 5 rows: the model trained on the pCAM initial labels with each set of branches (plain predictions)
TABLE5_MODELS = {"SS only": "ablation-ss", "SS + cls": "ablation-ss_cls", "SS + CA": "ablation-ss_ca", "SS + cls + CA": "joint"}
PAPER = "paper (VOC12)"


def _row(table: pd.DataFrame, path: str | os.PathLike, **keys: str) -> pd.Series:
    selected = table
    for column, value in keys.items():
        selected = selected[selected[column] == value]
    if selected.empty:
        raise InputError(f"{path}: no row with {keys}")
    return selected.iloc[0]


def _segmentation_miou(tables: Mapping[str, pd.DataFrame], paths: Mapping[str, str], model: str, post: str) -> float:
    for name in ("segmentation", "segmentation_variants"):
        table = tables[name]
        if (table["model"] == model).any():
            return float(_row(table, paths[name], model=model, postprocessing=post)["mIoU"])
    raise InputError(f"{paths['segmentation']}, {paths['segmentation_variants']}: no model {model!r}")


def ctlr_tables(paths: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """Tables 5-8 from ``paths``: pseudo_labels, class_agnostic_labels, segmentation, segmentation_variants CSVs."""
    tables = {name: pd.read_csv(path) for name, path in paths.items()}
    pseudo, ca = tables["pseudo_labels"], tables["class_agnostic_labels"]
    table5 = pd.DataFrame(
        [{"branches": name, "mIoU": _segmentation_miou(tables, paths, model, "plain"), PAPER: PAPER_TABLE5.get(name)}
         for name, model in TABLE5_MODELS.items()]
    )
    table6 = pd.DataFrame(
        [{"CAM": cam, "pseudo mIoU": _row(pseudo, paths["pseudo_labels"], labels=f"{cam}-initial")["mIoU"],
          "pseudo F1": _row(pseudo, paths["pseudo_labels"], labels=f"{cam}-initial")["F1"],
          "SS mIoU": _segmentation_miou(tables, paths, model, "plain")}
         for cam, model in (("sCAM", "ablation-scam"), ("pCAM", "joint"))]
    )
    table7 = pd.DataFrame(
        [{"labels": stage,
          "SS pseudo mIoU": _row(pseudo, paths["pseudo_labels"], labels=ss)["mIoU"],
          "SS pseudo F1": _row(pseudo, paths["pseudo_labels"], labels=ss)["F1"],
          "CA pseudo mIoU": _row(ca, paths["class_agnostic_labels"], labels=ca_row)["mIoU"],
          "CA pseudo F1": _row(ca, paths["class_agnostic_labels"], labels=ca_row)["F1"],
          "SS mIoU": _segmentation_miou(tables, paths, model, "plain")}
         for stage, ss, ca_row, model in (("before CTLR", "pCAM-initial", "saliency", "joint"),
                                           ("after CTLR", "CTLR-refined", "CTLR-refined-CA", "retrain"))]
    )
    table8 = pd.DataFrame(
        [{"postprocessing": post, "mIoU": _segmentation_miou(tables, paths, "retrain", post), PAPER: PAPER_TABLE8[post]}
         for post in PAPER_TABLE8]
    )
    return {"ctlr_table5": table5, "ctlr_table6": table6, "ctlr_table7": table7, "ctlr_table8": table8}


def sonet_tables(paths: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """SONet Table 1(a), 1(b) and Fig. 3(c) from ``paths``: sonet_pseudo_labels, sonet_segmentation_image,
    sonet_segmentation_box (left out for a dataset without boxes) and guidance_labels (G^Cm / G^B with
    each guidance map) CSVs."""
    pseudo = pd.read_csv(paths["sonet_pseudo_labels"])
    table1a = pseudo[["labels", "mIoU"]].assign(**{PAPER: pseudo["labels"].map(PAPER_SONET_1A)})
    rows = []
    for supervision in ("image", "box"):
        if f"sonet_segmentation_{supervision}" not in paths:
            continue
        table = pd.read_csv(paths[f"sonet_segmentation_{supervision}"])
        for post in ("plain", "ms_crf"):
            for _, row in table[table["postprocessing"] == post].iterrows():
                rows.append({"supervision": supervision, "model": row["model"], "postprocessing": post,
                             "mIoU": row["mIoU"], PAPER: PAPER_SONET_1B.get(row["model"]) if post == "ms_crf" else None})
    guidance = pd.read_csv(paths["guidance_labels"])
    return {"sonet_table1a": table1a, "sonet_table1b": pd.DataFrame(rows), "sonet_fig3c": guidance[["labels", "mIoU", "F1"]]}


def ablation_tables(paths: Mapping[str, str]) -> dict[str, pd.DataFrame]:
    """CTLR's tables (:func:`ctlr_tables`), then SONet's (:func:`sonet_tables`) when ``paths`` has them:
    a dataset without an objectness source has no SONet run."""
    sonet = "sonet_pseudo_labels" in paths
    ctlr = {name: path for name, path in paths.items() if not (name.startswith("sonet_") or name == "guidance_labels")}
    return {**ctlr_tables(ctlr), **(sonet_tables(paths) if sonet else {})}


def _markdown(table: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + " --- |" * len(table.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


TITLES = {
    "ctlr_table5": "CTLR Table 5: branches trained jointly (segmentation mIoU %, eval split, no post-processing)",
    "ctlr_table6": "CTLR Table 6: sCAM vs pCAM (pseudo labels on the train split; SS = segmentation, eval split, plain)",
    "ctlr_table7": "CTLR Table 7: before / after CTLR (pseudo labels of both tasks, train split; SS mIoU, eval split, plain)",
    "ctlr_table8": "CTLR Table 8: post-processing of the retrained model (mIoU %, eval split)",
    "sonet_table1a": "SONet Table 1(a): pseudo labels (mIoU %, train split)",
    "sonet_table1b": "SONet Table 1(b): SONet trained on the pseudo labels (mIoU %, eval split)",
    "sonet_fig3c": "SONet Fig. 3(c): G^Cm and G^B with objectness vs saliency as the guidance map (train split)",
}


def write_ablations(tables: Mapping[str, pd.DataFrame], output_dir: str | os.PathLike, markdown: str | os.PathLike, run: str) -> None:
    """One CSV per table in ``output_dir`` (``<name>.csv``) and all of them in ``markdown``."""
    sections = [f"# Ablations of run `{run}`", "",
                f"The `{PAPER}` columns are the papers' own numbers (PASCAL VOC 2012, their backbones), "
                "for orientation; empty where the paper's text gives none."]
    for name, table in tables.items():
        write_table(table, Path(output_dir) / f"{name}.csv")
        sections += ["", f"## {TITLES[name]}", "", _markdown(table)]
    _write_markdown(sections, markdown)


def _write_markdown(sections: list[str], markdown: str | os.PathLike) -> None:
    with atomic_path(markdown) as tmp:
        tmp.write_text("\n".join(sections) + "\n")


def seed_views(aggregated: pd.DataFrame, differences: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """What a reader sees of one ablation table over seeds: (each cell as ``mean +- std (n seeds)``,
    each row's paired differences against the first row as ``+d [low, high]``, the first row's name)."""
    mean, std, n = (statistic_rows(aggregated, statistic) for statistic in STATISTICS)
    measured = [column for column in measured_columns(mean) if column != PAPER]
    keys = [column for column in mean.columns if column not in measured and column != PAPER]
    summary = mean[keys].copy()
    for column in measured:
        summary[column] = [mean_std(m, s, int(k), 1) for m, s, k in zip(mean[column], std[column], n[column])]
    if PAPER in mean:
        summary[PAPER] = mean[PAPER]
    rows = []
    for key_values, group in differences.groupby(keys, sort=False):
        key_values = key_values if isinstance(key_values, tuple) else (key_values,)
        cells = {row["column"]: interval_text(row["difference"], row["low"], row["high"]) for _, row in group.iterrows()}
        rows.append({**dict(zip(keys, key_values)), **cells})
    return summary, pd.DataFrame(rows), " / ".join(str(mean.loc[0, key]) for key in keys)


def _differences_caption(baseline: str, seeds: int, confidence: float) -> str:
    return f"Paired differences against `{baseline}` (mean over {seeds} seeds, [{confidence:.0%} t-interval]):"


OVER_SEEDS_NOTE = (
    "Each cell is the mean +- the standard deviation over the seeds. Under each table, every row minus the "
    "table's first row, paired by seed: the mean difference and its t-interval over the seeds (an interval "
    "that excludes 0 says the difference holds beyond the seeds' spread). "
    f"The `{PAPER}` columns are the papers' own numbers (PASCAL VOC 2012, their backbones), for orientation."
)


def ablations_over_seeds(
    table_dirs: Mapping[int, str | os.PathLike], output_dir: str | os.PathLike, markdown: str | os.PathLike, run: str,
    *, confidence: float = 0.95,
) -> dict[str, pd.DataFrame]:
    """The ablation tables of every seed (``table_dirs``: {seed: metrics/ablations/tables}) over seeds.

    Writes ``<name>.csv`` (every seed's rows, then mean / std / n: :func:`aggregate_tables`) and
    ``<name>_differences.csv`` (each row minus the table's first row, paired by seed, with its
    ``confidence`` t-interval: :func:`paired_differences`) per table, and ``markdown``. Returns the differences.
    """
    names = {path.stem for path in Path(next(iter(table_dirs.values()))).glob("*.csv")}
    sections = [f"# Ablations of run `{run}` over {len(table_dirs)} seeds ({', '.join(map(str, table_dirs))})", "", OVER_SEEDS_NOTE]
    results = {}
    for name in (name for name in TITLES if name in names):
        per_seed = {seed: pd.read_csv(Path(directory) / f"{name}.csv") for seed, directory in table_dirs.items()}
        aggregated = aggregate_tables(per_seed, source=f"{name}.csv of {', '.join(map(str, table_dirs.values()))}")
        differences = paired_differences(per_seed, confidence=confidence)
        differences = differences[differences["column"] != PAPER].reset_index(drop=True)
        for suffix, table in (("", aggregated), ("_differences", differences)):
            write_table(table, Path(output_dir) / f"{name}{suffix}.csv")
        summary, intervals, baseline = seed_views(aggregated, differences)
        sections += ["", f"## {TITLES[name]}", "", _markdown(summary)]
        if len(intervals):
            sections += ["", _differences_caption(baseline, len(per_seed), confidence), "", _markdown(intervals)]
        results[name] = differences
    _write_markdown(sections, markdown)
    return results


def ablation_page(tables_dir: str | os.PathLike, output_html: str | os.PathLike, title: str, *, confidence: float = 0.95) -> list[str]:
    """The ablation tables of ``tables_dir`` (one run, or over seeds with their differences) as one HTML
    page for the report; returns the tables shown."""
    tables_dir = Path(tables_dir)
    body, shown, over_seeds = [], [], False
    for name in (name for name in TITLES if (tables_dir / f"{name}.csv").is_file()):
        table = read_table(tables_dir / f"{name}.csv")
        body.append(f"<h4>{html.escape(TITLES[name])}</h4>")
        if SEED in table:
            over_seeds = True
            summary, intervals, baseline = seed_views(table, pd.read_csv(tables_dir / f"{name}_differences.csv"))
            body.append(summary.to_html(index=False, na_rep="", classes="metrics"))
            if len(intervals):
                caption = _differences_caption(baseline, seed_count(table), confidence).replace("`", "")
                body += [f"<p>{html.escape(caption)}</p>", intervals.to_html(index=False, na_rep="", classes="metrics")]
        else:
            body.append(table.to_html(index=False, float_format=lambda value: f"{value:.1f}", na_rep="", classes="metrics"))
        shown.append(name)
    intro = f"<p>{html.escape(OVER_SEEDS_NOTE.replace('`', ''))}</p>" if over_seeds else ""
    html_page(output_html, title, intro + "".join(body))
    return shown
