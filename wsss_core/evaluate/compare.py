"""``wsss compare RUN_A RUN_B``: two runs' headline lines and metric tables side by side, with differences.

Each table both runs have (``results/<run>/metrics/<name>.csv``, one run or a run over seeds)
is joined on its row names (labels, model, postprocessing...); every number appears as A, B
and B - A, the means where a run has several seeds. When both runs have several seeds, a
difference is marked ``*`` when Welch's t-test on the two runs' mean, std and n puts it
outside the seeds' spread (p < 0.05).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from wsss_core.evaluate.headline import headline
from wsss_core.evaluate.seeds import DESCRIPTIVE_COLUMNS, STATISTICS, measured_columns, read_table, seed_count, statistic_rows, welch_differs
from wsss_core.io import InputError

# the tables compared, in this order (those of the headline first)
COMPARED_TABLES = (
    "pseudo_labels", "segmentation", "weak_vs_full", "sonet_pseudo_labels", "sonet_segmentation_image",
    "sonet_segmentation_box", "class_agnostic_labels", "ctlr_change", "segmentation_supervised",
    "sonet_segmentation_supervised", "sonet_weak_vs_full", "sonet_cross_dataset",
)


def run_metrics(run: str | os.PathLike) -> Path:
    """The metrics directory of ``run``: a run directory (``results/<run>``) or a run's name under ``results/``."""
    candidates = [Path(run)] + ([] if Path(run).is_absolute() else [Path("results") / run])
    for candidate in candidates:
        if (candidate / "metrics").is_dir():
            return candidate / "metrics"
    raise InputError(f"{run}: not a run directory (no metrics/ in {' or '.join(str(c) for c in candidates)})")


def compare_table(table_a: pd.DataFrame, table_b: pd.DataFrame) -> pd.DataFrame:
    """One row per (table row, number) both tables have: A, B, B - A and whether it differs beyond the seeds' spread."""
    stats_a = {name: statistic_rows(table_a, name) for name in STATISTICS}
    stats_b = {name: statistic_rows(table_b, name) for name in STATISTICS}
    mean_a, mean_b = stats_a["mean"], stats_b["mean"]
    measured = [column for column in measured_columns(mean_a) if column in measured_columns(mean_b)]
    keys = [
        column for column in mean_a.columns
        if column not in measured_columns(mean_a) and column in mean_b.columns and column not in DESCRIPTIVE_COLUMNS
    ]
    key_b = {tuple(row): i for i, row in enumerate(mean_b[keys].astype(str).itertuples(index=False))}
    rows = []
    for i, key in enumerate(mean_a[keys].astype(str).itertuples(index=False)):
        j = key_b.get(tuple(key))
        if j is None:
            continue
        for column in measured:
            a, b = float(mean_a.loc[i, column]), float(mean_b.loc[j, column])
            if math.isnan(a) and math.isnan(b):
                continue
            differs = welch_differs(*(
                (float(s["mean"].loc[k, column]), float(s["std"].loc[k, column]), int(s["n"].loc[k, column]))
                for s, k in ((stats_a, i), (stats_b, j))
            ))
            rows.append({**dict(zip(keys, key)), "number": column, "A": a, "B": b, "B - A": b - a, "beyond spread": "*" if differs else ""})
    return pd.DataFrame(rows)


def compare_runs(run_a: str | os.PathLike, run_b: str | os.PathLike) -> str:
    """The comparison of two runs as text: headline lines, then each table both have (:func:`compare_table`)."""
    metrics_a, metrics_b = run_metrics(run_a), run_metrics(run_b)
    names = [name for name in COMPARED_TABLES if (metrics_a / f"{name}.csv").is_file() and (metrics_b / f"{name}.csv").is_file()]
    if not names:
        raise InputError(f"{metrics_a}, {metrics_b}: no metric table in both runs")
    tables = {name: (read_table(metrics_a / f"{name}.csv"), read_table(metrics_b / f"{name}.csv")) for name in names}
    seeds_a, seeds_b = (max(seed_count(pair[k]) for pair in tables.values()) for k in (0, 1))
    lines = [
        f"A: {run_a} ({seeds_a} seed{'s' if seeds_a > 1 else ''}): {headline({n: metrics_a / f'{n}.csv' for n in names})}",
        f"B: {run_b} ({seeds_b} seed{'s' if seeds_b > 1 else ''}): {headline({n: metrics_b / f'{n}.csv' for n in names})}",
    ]
    if seeds_a > 1 and seeds_b > 1:
        lines.append("* = B - A outside the seeds' spread (Welch's t-test on the runs' mean, std and n, p < 0.05)")
    else:
        lines.append("(one of the runs has a single seed: no difference can be told from the seeds' spread)")
    for name, (table_a, table_b) in tables.items():
        compared = compare_table(table_a, table_b)
        lines += ["", f"== {name}", compared.to_string(index=False, float_format=lambda value: f"{value:.2f}") if len(compared) else "(no rows in common)"]
    return "\n".join(lines)
