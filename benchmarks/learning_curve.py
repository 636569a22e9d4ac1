"""The schedule question of the quality study: how the supervised reference and the joint model grow with epochs.

    python benchmarks/learning_curve.py --run results/voc12_sample --config configs/voc12_sample.yaml \\
                                        --stage supervised --epochs 16 --every 2
    python benchmarks/learning_curve.py --run results/voc12_sample --config configs/voc12_sample.yaml \\
                                        --stage joint --epochs 8 --every 2 --ctlr-images 60

``--stage supervised`` trains the supervised reference of the run's config
(``supervised.train`` overlaid on ``train``, ``--epochs`` epochs) on the run's
training split; ``--stage joint`` trains the joint model (Fig. 5b) from the
run's checkpoint that ``joint.init`` names on its pCAM-initial labels and
guidance maps, with the config's refresh of G_ca (Eq. 4, its Pr_ca as
``joint.ca_refresh_prediction`` says). After every ``--every`` epochs the model's
single-scale prediction at ``inference.max_side`` is scored on the eval split
against the ground truth (the ``plain`` row of ``metrics/segmentation*.csv``):
mIoU over the classes that occur, and over the classes with at least
``--min-images`` training images. For the joint model the same checkpoint
also runs CTLR (Eq. 5-7, multi-scale + flip predictions, the run's pCAMs) on
``--ctlr-images`` training photos: the refined labels' mIoU (project metric)
and the foreground IoU of Pr_ca and G_ca^ref, next to the pCAM-initial labels
and the saliency map on the same photos. The poly learning rate decays over
the whole run, so the row of epoch k is a lower bound of what a k-epoch run
reaches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from common import foreground_counts, header, load_config, table
from torch import nn

from wsss_core.crf import CrfParams
from wsss_core.ctlr.joint import train_joint
from wsss_core.ctlr.refine import refine_image_labels
from wsss_core.ctlr.refresh import refresh_prediction
from wsss_core.ctlr.training import train_supervised
from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.evaluate.tables import read_ground_truth
from wsss_core.guidance.maps import read_guidance
from wsss_core.inference.predict import predict_probs
from wsss_core.io import read_label_map, read_rgb
from wsss_core.store import read_store


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
        confusion = confusion + confusion_matrix(seg.argmax(0).astype(np.uint8), read_ground_truth(index, image_id), index.num_classes + 1)
    model.train()
    result = scores(confusion)
    return {"mIoU": 100 * result["miou"], "mIoU_frequent": 100 * float(np.nanmean(result["iou"][frequent]))}


class CtlrProbe:
    """CTLR (Eq. 5-7) of a model on a fixed set of training photos, scored against their ground truth."""

    def __init__(self, run: Path, index: DatasetIndex, ids: list[str], config: dict) -> None:
        self.index, self.ids = index, ids
        self.crf = CrfParams.from_config(config["crf"]["class_agnostic"])
        self.pcam_fg_threshold = config["labels"]["pcam_fg_threshold"]
        self.inference = {"scales": config["inference"]["scales"], "flip": config["inference"]["flip"], "max_side": config["inference"]["max_side"]}
        with read_store(run / "cams.h5") as cams:
            self.pcams = {image_id: cams.read(image_id, "pcam") for image_id in ids}
        self.truths = {image_id: read_ground_truth(index, image_id) for image_id in ids}
        # (valid, object) pixels of each ground truth, for the foreground IoUs
        self.objects = {image_id: (truth != 255, (truth > 0) & (truth != 255)) for image_id, truth in self.truths.items()}
        self.images = {image_id: read_rgb(index.image_path(image_id)) for image_id in ids}
        saliency_threshold = config["labels"]["saliency_fg_threshold"]
        self.baseline = self._scores(
            {image_id: read_label_map(run / "labels" / "initial_pcam" / f"{image_id}.png") for image_id in ids},
            {
                image_id: read_guidance(run / "saliency" / f"{image_id}.png", truth.shape) > saliency_threshold
                for image_id, truth in self.truths.items()
            },
        )

    def _scores(self, labels: dict[str, np.ndarray], *foregrounds: dict[str, np.ndarray]) -> list[float]:
        """mIoU of ``labels`` (ignored pixels count as misses), then the foreground IoU of each mask set."""
        confusion, counts = 0, np.zeros((len(foregrounds), 3), dtype=np.int64)
        for image_id, truth_map in self.truths.items():
            confusion = confusion + confusion_matrix(labels[image_id], truth_map, self.index.num_classes + 1)
            valid, truth = self.objects[image_id]
            for k, masks in enumerate(foregrounds):
                counts[k] += foreground_counts(masks[image_id], truth, valid)
        return [100 * scores(confusion)["miou"], *(100 * inter / union for inter, union, _ in counts)]

    def __call__(self, model: nn.Module) -> dict:
        """CTLR-refined mIoU and the foreground IoU of Pr_ca > 0.5 and G_ca^ref, from ``model``'s ms predictions."""
        model.eval()
        device = next(model.parameters()).device
        refined, pr_ca, ca_refined = {}, {}, {}
        for image_id in self.ids:
            seg, ca = predict_probs(model, self.images[image_id], device, **self.inference)
            record = self.pcams[image_id]
            classes = tuple(int(c) for c in record["classes"])
            ca_ref, refined[image_id] = refine_image_labels(
                self.images[image_id], seg, ca, record["pcam"], classes, crf=self.crf, pcam_fg_threshold=self.pcam_fg_threshold
            )
            pr_ca[image_id], ca_refined[image_id] = ca > 0.5, ca_ref > 0
        model.train()
        miou, ca_iou, ref_iou = self._scores(refined, pr_ca, ca_refined)
        return {"CTLR_mIoU": miou, "Pr_ca_fg_IoU": ca_iou, "G_ca_ref_fg_IoU": ref_iou}


def train(stage: str, run: Path, config: dict, epochs: int, threads: int, tmp: Path, after_epoch: Callable[[nn.Module, int], None]) -> None:
    """Train ``stage`` (supervised | joint) of ``run`` for ``epochs`` epochs into ``tmp``, calling ``after_epoch``."""
    split = config["dataset"]["train_split"]
    train_config = {**config[stage]["train"], "epochs": epochs}
    if stage == "supervised":
        train_supervised(
            run / "dataset", split, tmp / "model.pt", tmp / "history.csv", model_config=config["model"],
            train_config=train_config, threads=threads, on_epoch_end=after_epoch,
        )  # fmt: skip
        return
    refresh = refresh_prediction(config["joint"]["ca_refresh_prediction"], config["inference"])
    train_joint(
        run / "dataset", split, run / "checkpoints" / f"{config['joint']['init']}.pt", run / "labels" / "initial_pcam",
        run / "saliency",
        tmp / "model.pt", tmp / "online_ca", tmp / "history.csv", train_config=train_config,
        crf=CrfParams.from_config(config["crf"]["class_agnostic"]), ca_prior_threshold=config["labels"]["saliency_fg_threshold"],
        ca_refresh_every=config["joint"]["ca_refresh_every"], ca_refresh_overlap=config["joint"]["ca_refresh_overlap"],
        ca_refresh_crf=config["joint"]["ca_refresh_crf"], ca_refresh_scales=refresh["scales"],
        ca_refresh_flip=refresh["flip"], max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"], threads=threads, workers=threads,
        loss_weights=config["loss_weights"], on_epoch_end=after_epoch,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished run whose dataset/ (and, for joint, CAMs and labels) to use")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--stage", choices=("supervised", "joint"), default="supervised")
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--min-images", type=int, default=20)
    parser.add_argument("--ctlr-images", type=int, default=60, help="joint: training photos CTLR is scored on (evenly spaced)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    config = load_config(args.config)
    index = load_index(args.run / "dataset")
    train_split, eval_split = config["dataset"]["train_split"], config["dataset"]["eval_split"]
    frequent = frequent_classes(index, train_split, args.min_images)
    header(f"learning curve of the {args.stage} model on {args.run} ({args.epochs} epochs)")
    print("frequent classes:", ", ".join(("background", *index.class_names)[c] for c in frequent))
    probe = None
    if args.stage == "joint":
        ids = index.ids(train_split)
        probe = CtlrProbe(args.run, index, ids[:: max(1, len(ids) // args.ctlr_images)][: args.ctlr_images], config)
        pcam_miou, saliency_iou = probe.baseline
        print(f"on {len(probe.ids)} training photos: pCAM-initial mIoU {pcam_miou:.2f}, saliency foreground IoU {saliency_iou:.2f}")
    print()
    rows: list[dict] = []
    started = time.monotonic()

    def after_epoch(model: nn.Module, epochs_done: int) -> None:
        if epochs_done % args.every == 0 or epochs_done == args.epochs:
            row = {"epoch": epochs_done, **score_model(model, index, eval_split, config["inference"]["max_side"], frequent)}
            if probe is not None:
                row.update(probe(model))
            rows.append({**row, "minutes": (time.monotonic() - started) / 60})
            print(table(rows[-1:], list(rows[-1])).splitlines()[-1], flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        train(args.stage, args.run, config, args.epochs, args.threads, Path(tmp), after_epoch)
    print()
    print(table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
