"""CTLR training stages that start from a freshly built network: the classifier (Fig. 5a) and the supervised reference.

Both train the three-branch network of Sec. 3.2 with the losses of Eq. 8-11
(:func:`multitask_losses`) on the branches the stage trains; the other
branches are frozen. :func:`save_new_network` writes such a network untrained,
for a joint model that does not start from the classifier.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine.config import TrainConfig
from wsss_core.engine.fit import fit, start_stage
from wsss_core.engine.resume import fingerprint
from wsss_core.losses import class_agnostic_loss, classification_loss, segmentation_loss
from wsss_core.models.checkpoint import save_checkpoint
from wsss_core.models.multitask import BRANCHES, build_model

log = logging.getLogger(__name__)


def multitask_losses(
    model: nn.Module,
    images: Tensor,
    batch: dict[str, Tensor],
    branches: Sequence[str],
    weights: Mapping[str, float] | None = None,
) -> dict[str, Tensor]:
    """Eq. 9-11 for the ``branches`` trained in a stage (their sum is Eq. 8; a subset of them for Table 5).

    ``weights`` (branch -> factor, e.g. ``{"ca": 1.0, "seg": 2.0}``) scales a term
    before the sum; a branch it leaves out keeps Eq. 8's weight of 1.
    """
    out = model(images, branches=branches)
    losses = {}
    if "cls" in branches:
        losses["loss_cls"] = classification_loss(out["cls_logits"], batch["image_labels"])
    if "ca" in branches:
        losses["loss_ca"] = class_agnostic_loss(out["ca_logits"], batch["ca_labels"])
    if "seg" in branches:
        losses["loss_seg"] = segmentation_loss(out["seg_logits"], batch["seg_labels"])
    for branch, weight in (weights or {}).items():
        if f"loss_{branch}" in losses:
            losses[f"loss_{branch}"] = weight * losses[f"loss_{branch}"]
    return losses


def _train_new_model(
    stage: str,
    dataset_root: str | Path,
    split: str,
    outputs: tuple[str | Path, str | Path],
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None,
    branches: Sequence[str],
    ground_truth: bool,
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
) -> None:
    """Train a freshly built network on ``branches``; the other branches are frozen.

    ``on_epoch_end(model, epochs_done)`` runs after every epoch (e.g. to score a learning curve).
    """
    config, device = start_stage(train_config, threads)
    index = load_index(dataset_root)
    model = build_model({**model_config, "num_classes": index.num_classes})
    for branch in set(BRANCHES) - set(branches):
        for module in model.branch_modules(branch):
            module.requires_grad_(False)
    dataset = WeakLabelDataset(index, index.ids(split), config, ground_truth=ground_truth)
    run_id = fingerprint(stage, {**asdict(config), "model": model_config}, [Path(dataset_root) / "image_labels.csv"])
    losses = functools.partial(multitask_losses, branches=branches)
    checkpoint, log_csv = (Path(path) for path in outputs)
    fit(
        model, dataset, config, device, stage=stage, losses=losses, output_checkpoint=checkpoint, log_csv=log_csv,
        fingerprint=run_id, on_epoch_end=None if on_epoch_end is None else functools.partial(on_epoch_end, model),
    )


def save_new_network(
    dataset_root: str | Path, output_checkpoint: str | Path, *, model_config: dict[str, Any], train_config: dict[str, Any]
) -> None:
    """The network of Sec. 3.2 as a stage builds it, untrained: a 0-epoch checkpoint (``joint.init: backbone``).

    Its backbone holds what ``model_config`` loads (ImageNet weights where it
    names them), its heads the initialisation drawn from the stage's seed.
    """
    seed = TrainConfig.from_config(train_config).seed
    torch.manual_seed(seed)
    model = build_model({**model_config, "num_classes": load_index(dataset_root).num_classes})
    save_checkpoint(output_checkpoint, model, stage="backbone", epochs=0)
    log.info("new network: %s backbone, heads from seed %d, untrained -> %s", model.model_config["backbone"], seed, output_checkpoint)


def train_classifier(
    dataset_root: str | Path,
    split: str,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None = None,
) -> None:
    """Fig. 5a: train the backbone and classification branch with L_cls (Eq. 9), other branches frozen."""
    _train_new_model(
        "classifier", dataset_root, split, (output_checkpoint, log_csv), model_config=model_config,
        train_config=train_config, threads=threads, branches=("cls",), ground_truth=False,
    )


def train_supervised(
    dataset_root: str | Path,
    split: str,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None = None,
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
) -> None:
    """The fully supervised reference: the same network and losses (Eq. 8-11) on ground-truth masks.

    L_seg uses the masks, L_ca their object / background reduction; it starts
    from the same backbone initialisation as the weakly supervised path, so
    weak / full compares the supervision alone.
    """
    _train_new_model(
        "supervised", dataset_root, split, (output_checkpoint, log_csv), model_config=model_config,
        train_config=train_config, threads=threads, branches=BRANCHES, ground_truth=True, on_epoch_end=on_epoch_end,
    )
