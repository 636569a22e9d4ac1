"""A run's headline numbers, read from the metric tables: its closing log line and the report's start page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from wsss_core.io import atomic_path

# rows of metrics/pseudo_labels.csv: initial (pCAM, Table 6) and refined (CTLR, Table 7) pseudo labels
_INITIAL, _REFINED = "pCAM-initial", "CTLR-refined"


def _miou(table: pd.DataFrame, column: str, row: str) -> float | None:
    rows = table[table[column] == row]
    return None if rows.empty else float(rows["mIoU"].iloc[0])


def headline(tables: Mapping[str, str | os.PathLike]) -> str:
    """One line of the run's headline mIoUs from the tables that exist among ``tables``.

    Keys: ``pseudo_labels`` (initial -> refined), ``segmentation`` (the final model, retrain,
    +MS+CRF), ``sonet_pseudo_labels`` / ``sonet_segmentation_<supervision>`` (SONet Table 1) and
    ``weak_vs_full``. Missing files are left out; no table at all gives a line saying so.
    """
    present = {name: pd.read_csv(path) for name, path in tables.items() if Path(path).is_file()}
    parts = []
    if "pseudo_labels" in present:
        table = present["pseudo_labels"]
        parts.append(f"pseudo-label mIoU {_miou(table, 'labels', _INITIAL):.2f} -> {_miou(table, 'labels', _REFINED):.2f}")
    if "sonet_pseudo_labels" in present:
        best = present["sonet_pseudo_labels"].sort_values("mIoU").iloc[-1]
        parts.append(f"best SONet pseudo labels {best['labels']} {best['mIoU']:.2f}")
    for name in (name for name in present if name.startswith(("segmentation", "sonet_segmentation"))):
        final = present[name][present[name]["postprocessing"] == "ms_crf"].iloc[-1]
        parts.append(f"final mIoU ({final['model']}, ms_crf) {final['mIoU']:.2f}")
    if "weak_vs_full" in present:
        row = present["weak_vs_full"][present["weak_vs_full"]["postprocessing"] == "ms_crf"].iloc[0]
        parts.append(f"weak/full {row['mIoU_weak']:.2f}/{row['mIoU_full']:.2f} = {row['weak_over_full']:.2f}")
    return "; ".join(parts) if parts else "no metric tables (a dataset without ground truth)"


def write_report_start(template: str | os.PathLike, tables: Mapping[str, str | os.PathLike], output: str | os.PathLike) -> str:
    """Write the report's start page: the headline line of ``tables`` above the reST ``template``; returns the line."""
    line = headline(tables)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(f"**Headline**: {line}.\n\n{Path(template).read_text()}")
    return line
