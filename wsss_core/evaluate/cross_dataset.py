"""SONet across datasets, the table of Table 1(c): trained on Open Images, evaluated on VOC12 val.

O -> V: SONet trained on Open Images alone, with its ground-truth boxes B or the
box-driven pseudo labels G^B; O + V: that SONet fine-tuned on VOC12 train with
VOC's own G^B (or G^B_ign). Each row holds the mIoU of one model on the
evaluation dataset's eval split per post-processing, next to the paper's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from wsss_core.evaluate.tables import model_rows, write_table

O_TO_V, O_PLUS_V = "O -> V", "O + V"
#: Table 1(c) of the paper: mIoU (%) on VOC12 val, by (setting, pseudo labels). Its text
#: quotes 76.9 for O + V with G^B; the table prints 75.9 for G^B and 76.9 for G^B_ign.
PAPER_TABLE_1C: dict[tuple[str, str], float] = {
    (O_TO_V, "B"): 51.5,
    (O_TO_V, "G^B"): 71.0,
    (O_PLUS_V, "G^B"): 75.9,
    (O_PLUS_V, "G^B_ign"): 76.9,
}


def cross_dataset_table(
    segmentation_csvs: Sequence[str | Path], rows: Sequence[Sequence[str]], output_csv: str | Path
) -> pd.DataFrame:
    """Write Table 1(c): one row per ``(setting, labels, model)`` of ``rows``.

    The mIoU of ``model`` comes from whichever of ``segmentation_csvs`` (tables
    of :func:`~wsss_core.evaluate.tables.evaluate_segmentation`) holds it, one
    column ``mIoU_<post-processing>`` per post-processing; ``paper`` is the
    paper's value for the setting and labels (empty where Table 1c has none).
    """
    by_model = {}
    for csv_path in segmentation_csvs:
        for model in pd.read_csv(csv_path)["model"].unique():
            by_model[model] = csv_path
    table = []
    for setting, labels, model in rows:
        scores = model_rows(by_model.get(model, segmentation_csvs[0]), model)
        row: dict[str, object] = {"setting": setting, "labels": labels, "model": model}
        row.update({f"mIoU_{variant}": miou for variant, miou in zip(scores["postprocessing"], scores["mIoU"])})
        row["paper"] = PAPER_TABLE_1C.get((setting, labels))
        table.append(row)
    frame = pd.DataFrame(table)
    write_table(frame, output_csv)
    return frame
