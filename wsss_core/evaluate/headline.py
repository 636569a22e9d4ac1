"""A run's headline numbers, read from the metric tables: its closing log line and the report's start page."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import pandas as pd

from wsss_core.evaluate.seeds import STATISTICS, mean_std, read_table, statistic_rows
from wsss_core.io import atomic_path

# rows of metrics/pseudo_labels.csv: initial (pCAM, Table 6) and refined (CTLR, Table 7) pseudo labels
_INITIAL, _REFINED = "pCAM-initial", "CTLR-refined"


class _Stats:
    """The mean, std and n rows of a table (one run or over seeds: wsss_core.evaluate.seeds)."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.mean, self.std, self.n = (statistic_rows(table, statistic) for statistic in STATISTICS)

    def text(self, row: int, column: str) -> str:
        """``mean`` (2 decimals), or ``mean +- std (n seeds)`` over seeds (1 decimal: the seeds' spread is larger)."""
        n = int(self.n.loc[row, column])
        return mean_std(float(self.mean.loc[row, column]), float(self.std.loc[row, column]), n, 1 if n > 1 else 2)

    def row(self, column: str, value: str, last: bool = False) -> int:
        """The position of the first (or ``last``) row whose ``column`` is ``value``."""
        rows = self.mean.index[self.mean[column] == value]
        return int(rows[-1] if last else rows[0])


def headline(tables: Mapping[str, str | os.PathLike]) -> str:
    """One line of the run's headline mIoUs from the tables that exist among ``tables``.

    Keys: ``pseudo_labels`` (initial -> refined), ``segmentation`` (the final model, retrain,
    +MS+CRF), ``sonet_pseudo_labels`` / ``sonet_segmentation_<supervision>`` (SONet Table 1) and
    ``weak_vs_full``. Missing files are left out; no table at all gives a line saying so. Tables
    over seeds give each number as ``mean +- std (n seeds)``.
    """
    present = {name: _Stats(read_table(path)) for name, path in tables.items() if Path(path).is_file()}
    parts = []
    if "pseudo_labels" in present:
        table = present["pseudo_labels"]
        initial, refined = table.row("labels", _INITIAL), table.row("labels", _REFINED)
        parts.append(f"pseudo-label mIoU {table.text(initial, 'mIoU')} -> {table.text(refined, 'mIoU')}")
    if "sonet_pseudo_labels" in present:
        table = present["sonet_pseudo_labels"]
        best = int(table.mean["mIoU"].idxmax())
        parts.append(f"best SONet pseudo labels {table.mean.loc[best, 'labels']} {table.text(best, 'mIoU')}")
    for name in (name for name in present if name.startswith(("segmentation", "sonet_segmentation"))):
        table = present[name]
        final = table.row("postprocessing", "ms_crf", last=True)
        parts.append(f"final mIoU ({table.mean.loc[final, 'model']}, ms_crf) {table.text(final, 'mIoU')}")
    if "weak_vs_full" in present:
        table = present["weak_vs_full"]
        row = table.row("postprocessing", "ms_crf")
        parts.append(
            f"weak/full {table.text(row, 'mIoU_weak')}/{table.text(row, 'mIoU_full')} = {table.text(row, 'weak_over_full')}"
        )
    return "; ".join(parts) if parts else "no metric tables (a dataset without ground truth)"


def write_report_start(template: str | os.PathLike, tables: Mapping[str, str | os.PathLike], output: str | os.PathLike) -> str:
    """Write the report's start page: the headline line of ``tables`` above the reST ``template``; returns the line."""
    line = headline(tables)
    with atomic_path(output) as tmp:
        Path(tmp).write_text(f"**Headline**: {line}.\n\n{Path(template).read_text()}")
    return line
