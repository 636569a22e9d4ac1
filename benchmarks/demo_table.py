"""The demo's expected numbers the getting-started page shows: a run of the demo over three seeds, as mean +- std.

    snakemake --cores 2 --config run=demo_seeds 'seeds=[0,1,2]'
    python benchmarks/demo_table.py --run results/demo_seeds [--out docs/includes/demo_results.md]

Reads the run's tables over seeds (``metrics/pseudo_labels.csv`` and
``metrics/segmentation.csv``: each seed's rows, then their mean, std and n) and
writes the pseudo-label and segmentation mIoU of the demo's headline rows as
``mean +- std (n seeds)``, with the run's seeds and the date. Run it again when a
change moves the demo's numbers: the table is checked in and not rebuilt by the tests.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
from common import REPO

PSEUDO_ROWS = ("sCAM-initial", "pCAM-initial", "CTLR-refined")
SEGMENTATION_ROWS = (("joint", "ms_crf"), ("retrain", "plain"), ("retrain", "ms"), ("retrain", "crf"), ("retrain", "ms_crf"))


def _cell(table: pd.DataFrame, **keys: str) -> str:
    rows = table
    for column, value in keys.items():
        rows = rows[rows[column] == value]
    stats = {str(row["seed"]): float(row["mIoU"]) for _, row in rows.iterrows()}
    return f"{stats['mean']:.1f} +- {stats['std']:.1f} ({int(stats['n'])} seeds)"


def demo_table(run: Path) -> str:
    """The Markdown table of the demo run over seeds ``run``."""
    pseudo = pd.read_csv(run / "metrics" / "pseudo_labels.csv")
    segmentation = pd.read_csv(run / "metrics" / "segmentation.csv")
    seeds = sorted({str(seed) for seed in pseudo["seed"]} - {"mean", "std", "n"}, key=int)
    lines = [
        f"<!-- written by benchmarks/demo_table.py on {time.strftime('%Y-%m-%d')} from the demo over seeds {', '.join(seeds)} -->",
        "| table | row | mIoU (%) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `pseudo_labels.csv` (train split) | {row} | {_cell(pseudo, labels=row)} |" for row in PSEUDO_ROWS]
    lines += [
        f"| `segmentation.csv` (val split) | {model}, {post} | {_cell(segmentation, model=model, postprocessing=post)} |"
        for model, post in SEGMENTATION_ROWS
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="the demo's run over seeds (results/<run>)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "includes" / "demo_results.md")
    args = parser.parse_args()
    text = demo_table(args.run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
