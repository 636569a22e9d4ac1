"""Rule train_sonet: SONet (Sec. 2.2) trained on SONet pseudo labels and objectness maps with the loss of Eq. 5."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine.fit import fit, start_stage
from wsss_core.engine.resume import fingerprint
from wsss_core.io import InputError
from wsss_core.losses import class_agnostic_loss, segmentation_loss
from wsss_core.models.checkpoint import load_model
from wsss_core.models.sonet import build_sonet

log = logging.getLogger(__name__)


def sonet_losses(model: nn.Module, images: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """Eq. 5 for :func:`wsss_core.engine.fit.fit`: ``loss_seg`` = CE(S, G), ``loss_objectness`` = BCE(S_O, O).

    ``batch["seg_labels"]`` is the pseudo label G, ``batch["ca_labels"]`` the
    binarised objectness O (0/1); 255 is ignored in both. ``fit`` sums the terms.
    A network without the objectness branch (plain DeepLabv3) has CE(S, G) alone.
    """
    branches = getattr(model, "module", model).branches  # under DDP, the wrapped SONet's
    out = model(images, branches=branches)
    losses = {"loss_seg": segmentation_loss(out["seg_logits"], batch["seg_labels"])}
    if "ca" in branches:
        losses["loss_objectness"] = class_agnostic_loss(out["ca_logits"], batch["ca_labels"])
    return losses


def train_sonet(
    dataset_root: str | Path,
    split: str,
    seg_label_dir: str | Path | None,
    objectness_dir: str | Path | None,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    objectness_threshold: float = 0.5,
    init_checkpoint: str | Path | None = None,
    threads: int | None = None,
) -> None:
    """Train SONet from scratch (apart from ``backbone_weights``) on the images of ``split`` (Eq. 5).

    With ``init_checkpoint`` (a SONet checkpoint) training continues from that
    network instead, which also fixes the architecture (``model_config`` is
    not used): the fine-tuning of Table 1(c), O + V, where the SONet trained on
    Open Images goes on training on VOC12 train with VOC's own G^B.

    ``seg_label_dir`` holds the pseudo labels G (label PNGs, 255 = ignore),
    ``objectness_dir`` the objectness maps O (0-255 PNGs), binarised as
    O > ``objectness_threshold``; a network without the objectness branch
    (``objectness_branch: false``, plain DeepLabv3) needs no O. With no labels the network is trained fully
    supervised (the baseline of Tables 2-4): G is the ground-truth mask and O its
    object / background reduction. Writes ``output_checkpoint`` (``model_config`` with
    ``kind: sonet`` + ``state_dict``) and a per-epoch loss CSV; an
    interrupted run resumes after its last finished epoch.
    """
    label_dirs = [Path(path) for path in (seg_label_dir, objectness_dir) if path is not None]
    for directory in label_dirs:
        if not directory.is_dir():
            raise InputError(f"{directory}: directory not found")
    seg_dir, objectness = (Path(seg_label_dir) if seg_label_dir else None), (Path(objectness_dir) if objectness_dir else None)
    config, device = start_stage(train_config, threads)
    index = load_index(dataset_root)
    if init_checkpoint is None:
        model = build_sonet({**model_config, "num_classes": index.num_classes})
    else:
        model = load_model(init_checkpoint, num_classes=index.num_classes)
        if model.model_config.get("kind") != "sonet":
            raise InputError(f"{init_checkpoint}: not a SONet checkpoint (model_config kind is {model.model_config.get('kind')!r})")
    if seg_dir is not None and objectness is None and "ca" in model.branches:
        raise ValueError("train_sonet: SONet's objectness branch needs objectness_dir beside seg_label_dir")
    if objectness is not None and (seg_dir is None or "ca" not in model.branches):
        raise ValueError("train_sonet: objectness_dir goes with seg_label_dir, to a SONet with the objectness branch")
    ids = index.ids(split)
    dataset = WeakLabelDataset(
        index, ids, config, seg_label_dir=seg_dir, ca_label_dir=objectness, ground_truth=seg_dir is None,
        ca_threshold=objectness_threshold,
    )
    settings = {
        **asdict(config), "model": model.model_config, "objectness_threshold": objectness_threshold,
        "ground_truth": seg_dir is None,
    }
    inputs = [Path(dataset_root) / "image_labels.csv", *label_dirs, *([Path(init_checkpoint)] if init_checkpoint else [])]
    run_id = fingerprint("sonet", settings, inputs)
    start = f" from {init_checkpoint}" if init_checkpoint else ""
    log.info("sonet: training %s%s on %d %s images", model.model_config["arch"], start, len(ids), split)
    fit(
        model, dataset, config, device, stage="sonet", losses=sonet_losses, output_checkpoint=Path(output_checkpoint),
        log_csv=Path(log_csv), fingerprint=run_id,
    )
