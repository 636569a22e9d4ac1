"""Charts of the report: per-class IoU bars (weak models vs supervised) and per-epoch training curves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from wsss_core.evaluate.figures import new_figure, save_figure
from wsss_core.evaluate.seeds import mean_std, seed_count, statistic_rows
from wsss_core.io import InputError

# columns of a segmentation table that are not class IoUs
_KEY_COLUMNS = ("model", "postprocessing", "mIoU")


def _read_table(path: str | os.PathLike, required: Sequence[str]) -> pd.DataFrame:
    table = pd.read_csv(path)
    missing = [column for column in required if column not in table]
    if missing:
        raise InputError(f"{path}: columns {missing} missing (found {list(table.columns)})")
    return table


def class_iou_chart(
    segmentation_csvs: Sequence[str | os.PathLike], output_png: str | os.PathLike, *, postprocessing: str = "ms_crf"
) -> pd.DataFrame:
    """Grouped bars of per-class IoU, one group per class, one bar per model, at one post-processing.

    ``segmentation_csvs`` are tables of :func:`wsss_core.evaluate.tables.evaluate_segmentation`
    (the weak models', and the supervised one's when it ran), or those tables over seeds
    (:mod:`wsss_core.evaluate.seeds`): then the bars are the means and the error bars +- one
    standard deviation over the seeds. Returns the plotted table (the means).
    """
    tables = [_read_table(path, _KEY_COLUMNS) for path in segmentation_csvs]
    means = pd.concat([statistic_rows(table, "mean") for table in tables], ignore_index=True)
    stds = pd.concat([statistic_rows(table, "std") for table in tables], ignore_index=True)
    chosen = means["postprocessing"] == postprocessing
    table, spread = means[chosen].set_index("model"), stds[chosen].set_index("model")
    if table.empty:
        raise InputError(f"{segmentation_csvs}: no rows with postprocessing {postprocessing!r}")
    seeds = max(seed_count(table) for table in tables)
    classes = [column for column in table.columns if column not in _KEY_COLUMNS]
    values = table[classes].astype(float)
    figure = new_figure(max(6.0, 0.9 * len(classes)), 3.6)
    ax = figure.add_subplot()
    width = 0.8 / len(values)
    positions = np.arange(len(classes))
    for offset, (model, row) in enumerate(values.iterrows()):
        miou = mean_std(table.loc[model, "mIoU"], spread.loc[model, "mIoU"], seeds, 1)
        errors = spread.loc[model, classes].astype(float).to_numpy() if seeds > 1 else None
        ax.bar(positions + offset * width, row.fillna(0.0).to_numpy(), width, yerr=errors, capsize=2, label=f"{model} (mIoU {miou})")
    ax.set_xticks(positions + width * (len(values) - 1) / 2, classes, rotation=45, ha="right")
    ax.set_ylabel(f"IoU (%), {postprocessing}" + (f", mean +- std over {seeds} seeds" if seeds > 1 else ""))
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save_figure(figure, output_png)
    return values


def training_curves(
    train_logs: Mapping[str, str | os.PathLike | Sequence[str | os.PathLike]], output_png: str | os.PathLike
) -> list[str]:
    """One panel per training stage: every ``loss*`` column of ``train_logs/<stage>.csv`` per epoch.

    A stage given several logs (one per seed) gets one line per seed and loss, in the loss's
    colour. Returns the stages drawn.
    """
    stages = sorted(train_logs)
    figure = new_figure(4.2 * len(stages), 3.2)
    axes = np.atleast_1d(figure.subplots(1, len(stages), squeeze=False)[0])
    for ax, stage in zip(axes, stages):
        logs = [train_logs[stage]] if isinstance(train_logs[stage], (str, os.PathLike)) else list(train_logs[stage])
        for seed, path in enumerate(logs):
            history = _read_table(path, ["epoch", "loss"])
            for colour, column in enumerate(c for c in history.columns if c.startswith("loss")):
                label = column if seed == 0 else None
                ax.plot(history["epoch"], history[column], marker="o", markersize=3, color=f"C{colour}", alpha=1.0 if len(logs) == 1 else 0.6, label=label)
        ax.set_title(Path(logs[0]).stem + (f" ({len(logs)} seeds)" if len(logs) > 1 else ""), fontsize=9)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean loss")
    save_figure(figure, output_png)
    return stages
