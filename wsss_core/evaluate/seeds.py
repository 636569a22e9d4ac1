"""Repeated runs over seeds: per-seed tables joined with their mean, standard deviation and n,
paired differences of ablation rows with a 95 % t-interval, and the comparison of two runs.

A table over seeds (:func:`aggregate_tables`) is every seed's table with a leading ``seed``
column (the seed's number), followed by one block of rows per statistic (``seed`` = ``mean``,
``std``, ``n``) in the order of the per-seed rows. The standard deviation is the sample one
(``ddof=1``); the interval of a paired difference is ``mean +- t(0.975, n-1) x std / sqrt(n)``
(scipy's one-sample t-test). A table of one run without seeds has no ``seed`` column; every
reader here takes both.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from wsss_core.evaluate.tables import write_table
from wsss_core.io import InputError

SEED = "seed"
STATISTICS = ("mean", "std", "n")
# columns that describe a row rather than name it: the labels a table's means run over (those
# that occur in the ground truth or the labels scored), which a seed's predictions can change
DESCRIPTIVE_COLUMNS = ("mean_over",)


def measured_columns(table: pd.DataFrame) -> list[str]:
    """The numeric columns of a metric table (the rest name the row: labels, model, postprocessing...)."""
    return [column for column in table.columns if column != SEED and pd.api.types.is_numeric_dtype(table[column])]


def aggregate_tables(tables: Mapping[int, pd.DataFrame], source: str = "the per-seed tables") -> pd.DataFrame:
    """Every seed's rows with a ``seed`` column, then the rows ``mean``, ``std`` and ``n`` of each row.

    The seeds' tables must have the same rows in the same order (the same config run with
    another seed); ``source`` names them in the error otherwise. Columns that name a row
    (non-numeric) are kept; numeric ones are averaged over the seeds, NaN cells left out. A
    descriptive column (:data:`DESCRIPTIVE_COLUMNS`) of the statistics' rows lists every label
    any seed's row has, in the order they first appear.
    """
    if not tables:
        raise InputError(f"{source}: no seed's table to aggregate")
    seeds = list(tables)
    first = tables[seeds[0]]
    keys = [column for column in first.columns if column not in measured_columns(first)]
    names = [column for column in keys if column not in DESCRIPTIVE_COLUMNS]
    for seed in seeds[1:]:
        table = tables[seed]
        if list(table.columns) != list(first.columns) or len(table) != len(first) or not table[names].equals(first[names]):
            raise InputError(f"{source}: the table of seed {seed} has other rows or columns than that of seed {seeds[0]}")
    measured = measured_columns(first)
    values = np.stack([tables[seed][measured].to_numpy(dtype=float) for seed in seeds])  # (seeds, rows, columns)
    with warnings.catch_warnings():  # a cell that is NaN for every seed (or all but one) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        summaries = {
            "mean": np.nanmean(values, axis=0),
            "std": np.nanstd(values, axis=0, ddof=1),
            "n": np.sum(~np.isnan(values), axis=0).astype(float),
        }
    blocks = [tables[seed].assign(**{SEED: str(seed)}) for seed in seeds]
    described = first[keys].copy()
    for column in (column for column in keys if column in DESCRIPTIVE_COLUMNS):
        described[column] = [
            " ".join(dict.fromkeys(word for seed in seeds for word in str(tables[seed][column].iloc[row]).split()))
            for row in range(len(first))
        ]
    for name in STATISTICS:
        block = described.copy()
        block[measured] = summaries[name]
        blocks.append(block.assign(**{SEED: name}))
    table = pd.concat(blocks, ignore_index=True)
    return table[[SEED, *first.columns]]


def statistic_rows(table: pd.DataFrame, statistic: str = "mean") -> pd.DataFrame:
    """The rows of one statistic (``mean``, ``std``, ``n``) without the ``seed`` column.

    A table without seeds is its own mean; its ``std`` is NaN and its ``n`` 1.
    """
    if SEED not in table:
        if statistic == "mean":
            return table.reset_index(drop=True)
        filled = table.copy()
        filled[measured_columns(table)] = np.nan if statistic == "std" else 1.0
        return filled.reset_index(drop=True)
    rows = table[table[SEED].astype(str) == statistic]
    return rows.drop(columns=SEED).reset_index(drop=True)


def seed_count(table: pd.DataFrame) -> int:
    """How many seeds a table holds (1 without a ``seed`` column)."""
    if SEED not in table:
        return 1
    return len(set(table[SEED].astype(str)) - set(STATISTICS))


def mean_std(mean: float, std: float, n: int, digits: int = 2) -> str:
    """``mean +- std (n seeds)``, or the plain number for one seed."""
    if n <= 1 or std is None or math.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} +- {std:.{digits}f} ({n} seeds)"


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A metric table; a missing file is an :class:`InputError` that names it."""
    if not Path(path).is_file():
        raise InputError(f"{path}: no such table")
    return pd.read_csv(path, dtype={SEED: str})


def paired_differences(per_seed: Mapping[int, pd.DataFrame], baseline: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Each row of the seeds' tables against row ``baseline`` of the same seed, column by column.

    Per row and numeric column: the mean over seeds of (row - baseline row), and the
    ``confidence`` t-interval of that mean over the seeds (NaN with fewer than two seeds).
    Returns the key columns, ``column``, ``difference``, ``low``, ``high`` and ``n``;
    the baseline row itself is left out.
    """
    first = next(iter(per_seed.values()))
    measured = measured_columns(first)
    keys = [column for column in first.columns if column not in measured]
    values = np.stack([table[measured].to_numpy(dtype=float) for table in per_seed.values()])
    differences = values - values[:, baseline : baseline + 1, :]
    rows = []
    for row in range(values.shape[1]):
        if row == baseline:
            continue
        for j, column in enumerate(measured):
            sample = differences[:, row, j]
            sample = sample[~np.isnan(sample)]
            low = high = float("nan")
            if len(sample) > 1 and np.ptp(sample) > 0:
                low, high = stats.ttest_1samp(sample, 0.0).confidence_interval(confidence)
            elif len(sample) > 1:  # the same difference for every seed: a zero-width interval
                low = high = float(sample[0])
            rows.append(
                {**first.loc[row, keys].to_dict(), "column": column,
                 "difference": float(sample.mean()) if len(sample) else float("nan"),
                 "low": float(low), "high": float(high), "n": len(sample)}
            )
    return pd.DataFrame(rows, columns=[*keys, "column", "difference", "low", "high", "n"])


def interval_text(difference: float, low: float, high: float) -> str:
    """``+1.40 [0.80, 2.00]`` (a paired difference and its interval), or the difference alone."""
    if math.isnan(low):
        return f"{difference:+.2f}"
    return f"{difference:+.2f} [{low:+.2f}, {high:+.2f}]"


def welch_differs(a: tuple[float, float, int], b: tuple[float, float, int], significance: float = 0.05) -> bool:
    """Whether two (mean, std, n) differ by Welch's t-test at level ``significance``; False when either has fewer than 2 seeds."""
    (mean_a, std_a, n_a), (mean_b, std_b, n_b) = a, b
    if n_a < 2 or n_b < 2 or any(math.isnan(v) for v in (std_a, std_b)):
        return False
    if std_a == 0 and std_b == 0:
        return mean_a != mean_b
    result = stats.ttest_ind_from_stats(mean_a, std_a, n_a, mean_b, std_b, n_b, equal_var=False)
    return bool(result.pvalue < significance)


def tables_over_seeds(paths: Mapping[int, str | os.PathLike], output_csv: str | os.PathLike) -> pd.DataFrame:
    """Write the table over seeds (:func:`aggregate_tables`) of the per-seed tables ``paths`` ({seed: csv})."""
    tables = {seed: read_table(path) for seed, path in paths.items()}
    table = aggregate_tables(tables, source=", ".join(str(path) for path in paths.values()))
    write_table(table, output_csv)
    return table
