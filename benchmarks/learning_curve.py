"""The schedule question of the quality study: val mIoU of the supervised reference after every few epochs of one run.

    python benchmarks/learning_curve.py --run results/voc12_sample --config configs/voc12_sample.yaml \\
                                        --epochs 16 --every 2

Trains the supervised reference of the run's config (``supervised.train``
overlaid on ``train``, ``--epochs`` epochs) on the run's training split, and
after every ``--every`` epochs scores the single-scale prediction at
``inference.max_side`` on its eval split against the ground truth (the
``plain`` row of ``metrics/segmentation_supervised.csv``): mIoU over the
classes that occur, and over the classes with at least ``--min-images``
training images. The poly learning rate decays over the whole run, so the row
of epoch k is a lower bound of what a k-epoch run reaches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import header, load_config, table
from torch import nn

from wsss_core.ctlr.training import train_supervised
from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.inference.predict import predict_probs
from wsss_core.io import read_label_map, read_rgb


def frequent_classes(index: DatasetIndex, split: str, min_images: int) -> list[int]:
    """Background and the object classes present in at least ``min_images`` images of ``split``."""
    counts = np.sum([index.multi_hot(image_id) for image_id in index.ids(split)], axis=0)
    return [0, *(np.flatnonzero(counts >= min_images) + 1).tolist()]


def score_model(model: nn.Module, index: DatasetIndex, split: str, max_side: int, frequent: list[int]) -> dict:
    """Single-scale val mIoU of ``model`` (then back in training mode): all classes that occur, and ``frequent``."""
    model.eval()
    device = next(model.parameters()).device
    confusion = 0
    for image_id in index.ids(split):
        seg, _ = predict_probs(model, read_rgb(index.image_path(image_id)), device, scales=[1.0], flip=False, max_side=max_side)
        confusion = confusion + confusion_matrix(seg.argmax(0).astype(np.uint8), read_label_map(index.mask_path(image_id)), index.num_classes + 1)
    model.train()
    result = scores(confusion)
    return {"mIoU": 100 * result["miou"], "mIoU_frequent": 100 * float(np.nanmean(result["iou"][frequent]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a run whose dataset/ index to train and score on")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--min-images", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.config)
    index = load_index(args.run / "dataset")
    train_split, eval_split = config["dataset"]["train_split"], config["dataset"]["eval_split"]
    frequent = frequent_classes(index, train_split, args.min_images)
    header(f"learning curve of the supervised reference on {args.run} ({args.epochs} epochs)")
    print("frequent classes:", ", ".join(("background", *index.class_names)[c] for c in frequent), "\n")
    rows: list[dict] = []
    started = time.monotonic()

    def after_epoch(model: nn.Module, epochs_done: int) -> None:
        if epochs_done % args.every == 0 or epochs_done == args.epochs:
            row = {"epoch": epochs_done, **score_model(model, index, eval_split, config["inference"]["max_side"], frequent)}
            rows.append({**row, "minutes": (time.monotonic() - started) / 60})
            print(table(rows[-1:], list(row) + ["minutes"]).splitlines()[-1], flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        train_supervised(
            args.run / "dataset", train_split, Path(tmp) / "supervised.pt", Path(tmp) / "supervised.csv",
            model_config=config["model"], train_config={**config["train"], **config["supervised"]["train"], "epochs": args.epochs},
            threads=args.threads, on_epoch_end=after_epoch,
        )
    print()
    print(table(rows, ["epoch", "mIoU", "mIoU_frequent", "minutes"]))


if __name__ == "__main__":
    main()
