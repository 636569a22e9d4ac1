"""Rules predict / predict_train: segmentation and class-agnostic probabilities, single-scale and multi-scale + flip.

Multi-scale inference (Sec. 4.3.4): every scaled (and, with ``flip``,
mirrored) copy of an image is predicted, its probabilities are resized back to
the image size (and un-mirrored), and the element-wise maximum is taken; the
fused Pr_seg is renormalised to sum to one over classes. The single-scale
prediction is the unmirrored scale-1 pass of the same loop. Images go through
the network in batches of one size; only the arrays a later rule reads are
stored, and writing runs on a background thread while the next batch is
predicted.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from wsss_core.crf import labels_taking_part
from wsss_core.data.dataset import load_index
from wsss_core.data.transforms import input_scale, resize_input, to_tensor
from wsss_core.engine.device import pick_device, place_model
from wsss_core.inference.batches import image_batches, ordered_writer
from wsss_core.inference.forward import forward_resized
from wsss_core.io import atomic_directories, write_label_map
from wsss_core.logs import progress
from wsss_core.models.checkpoint import load_model
from wsss_core.store import write_store

log = logging.getLogger(__name__)

PREDICTION_ARRAYS = ("seg_single", "ca_single", "seg_ms", "ca_ms")


# each branch's probabilities from its logits: Pr_seg a softmax over classes, Pr_ca a sigmoid
_PROBABILITIES = {"seg": lambda logits: torch.softmax(logits, 1), "ca": lambda logits: torch.sigmoid(logits)[:, 0]}


@torch.no_grad()
def predict_batch(
    model: nn.Module,
    images: Tensor,
    device: torch.device,
    *,
    scales: Sequence[float],
    flip: bool,
    max_side: int | None = None,
    single: bool = True,
    branches: Sequence[str] = ("ca", "seg"),
) -> dict[str, Tensor]:
    """Pr_seg (B,C+1,H,W) and Pr_ca (B,H,W) of a batch of normalised same-size images, on ``device``.

    Returns ``seg_ms`` / ``ca_ms`` (max-fused over ``scales`` and, with
    ``flip``, mirrored copies) and, with ``single``, ``seg_single`` /
    ``ca_single`` (scale 1, unmirrored); of ``branches`` only (``("ca",)``:
    Pr_ca alone, the G_ca refresh of Eq. 4). Scales are relative to the
    images brought down to ``max_side`` pixels (``None``: as they are).
    """
    if not scales:
        raise ValueError("inference needs at least one scale")
    size, count = tuple(images.shape[-2:]), images.shape[0]
    base = input_scale(size, max_side)
    passes = list(scales) + ([1.0] if single and 1.0 not in scales else [])
    keep = tuple(f"{branch}_logits" for branch in branches)
    out: dict[str, Tensor] = {}
    for scale in passes:
        scaled = resize_input(images, scale * base)
        batch = torch.cat([scaled, scaled.flip(-1)]) if flip else scaled
        logits = forward_resized(lambda x: model(x, branches=tuple(branches)), batch, size, device, keep=keep)
        for branch in branches:
            probs = _PROBABILITIES[branch](logits[f"{branch}_logits"])
            if single and scale == 1.0:
                out[f"{branch}_single"] = probs[:count]
            if scale not in scales:
                continue
            if flip:
                probs = torch.maximum(probs[:count], probs[count:].flip(-1))
            fused = f"{branch}_ms"
            out[fused] = probs if fused not in out else torch.maximum(out[fused], probs)
    for name in ("seg_single", "seg_ms"):
        if name in out:
            out[name] = out[name] / out[name].sum(dim=1, keepdim=True)
    return out


def predict_probs(
    model: nn.Module,
    image: np.ndarray,
    device: torch.device,
    *,
    scales: Sequence[float],
    flip: bool,
    max_side: int | None = None,
    branches: Sequence[str] = ("ca", "seg"),
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pr_seg (C+1,H,W) and Pr_ca (H,W) of one RGB image, max-fused over scales and flips (:func:`predict_batch`);
    Pr_ca is None when ``branches`` leaves ``ca`` out (a network without it)."""
    out = predict_batch(
        model, to_tensor(image).unsqueeze(0), device, scales=scales, flip=flip, max_side=max_side, single=False,
        branches=branches,
    )  # fmt: skip
    return out["seg_ms"][0].cpu().numpy(), out["ca_ms"][0].cpu().numpy() if "ca" in branches else None


def device_outputs(
    out: dict[str, Tensor], arrays: Sequence[str], label_variants: Sequence[str], channel_epsilon: float
) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Tensor]]:
    """What a batch's :func:`predict_batch` outputs become before they leave the device.

    Returns the ``arrays`` as float16; for each ``seg_*`` array with
    ``channel_epsilon > 0``, the (B,C+1) mask of the classes the test-time
    CRF will use (:func:`~wsss_core.crf.labels_taking_part`: above it
    somewhere or winning a pixel, judged on the float16 values that are
    stored); and for each of ``label_variants`` the argmax label maps
    ``seg_<variant>`` (B,H,W) uint8.
    """
    halves = {name: out[name].half() for name in arrays}
    above = {
        name: labels_taking_part(values, channel_epsilon)
        for name, values in halves.items()
        if channel_epsilon > 0 and name.startswith("seg_")
    }
    labels = {variant: out[f"seg_{variant}"].argmax(dim=1).byte() for variant in label_variants}
    return halves, above, labels


def _write_image(
    store,
    image_id: str,
    arrays: dict[str, np.ndarray],
    channels: dict[str, np.ndarray],
    label_maps: dict[Path, np.ndarray],
) -> None:
    store.add(image_id, arrays, channels=channels)
    for directory, labels in label_maps.items():
        write_label_map(directory / f"{image_id}.png", labels)


def predict_split(
    dataset_root: str | Path,
    split: str,
    checkpoint: str | Path,
    output_store: str | Path,
    *,
    arrays: Sequence[str],
    label_dirs: Mapping[str, str | Path] | None = None,
    scales: Sequence[float],
    flip: bool,
    max_side: int | None = None,
    batch_size: int = 8,
    threads: int | None = None,
    workers: int = 0,
    channel_epsilon: float = 0.0,
    label_channels: bool = False,
) -> None:
    """Predict every image of ``split`` (:func:`predict_batch`) and write what later rules read.

    ``arrays`` (of :data:`PREDICTION_ARRAYS`) go to ``output_store`` as
    float16; of Pr_seg only the classes a later rule reads: with
    ``channel_epsilon > 0`` those above it somewhere (the labels the
    test-time CRF uses, :func:`wsss_core.crf.crf_labels`), with
    ``label_channels`` background and the image's labels (what Supp of Eq. 6
    keeps for CTLR), else all. The channels are chosen on the device.
    ``label_dirs`` maps ``single`` / ``ms`` to directories for the argmax
    label maps (palette PNGs). ``batch_size`` images of one size go through
    the network at once; ``workers`` processes decode the images.
    """
    unknown = sorted(set(arrays) - set(PREDICTION_ARRAYS))
    if unknown:
        raise ValueError(f"unknown prediction array(s) {unknown}; available: {PREDICTION_ARRAYS}")
    if channel_epsilon > 0 and label_channels:
        raise ValueError("choose the stored channels by channel_epsilon or by label_channels, not both")
    device = pick_device(threads)
    index = load_index(dataset_root)
    model = place_model(load_model(checkpoint, device, index.num_classes), device).eval()
    ids = index.ids(split)
    label_dirs = {variant: Path(path) for variant, path in (label_dirs or {}).items()}
    single = any(name.endswith("_single") for name in arrays) or "single" in label_dirs
    branches = tuple(sorted({"seg", *(name.split("_")[0] for name in arrays)}))  # what is stored or labelled
    log.info("predicting %d %s images with %s (scales %s, flip %s)", len(ids), split, checkpoint, list(scales), flip)
    with (
        write_store(output_store) as store,
        atomic_directories(label_dirs) as dirs,
        ordered_writer() as writer,
    ):
        store.set_attrs(
            class_names=list(index.class_names),
            scales=list(scales),
            flip=flip,
            channel_epsilon=channel_epsilon,
            label_channels=label_channels,
        )
        batches = image_batches(index, ids, batch_size=batch_size, workers=workers)
        for batch in progress(batches, total=len(ids), desc=f"predict {split}", count=lambda b: len(b.ids)):
            out = predict_batch(
                model, batch.images, device, scales=scales, flip=flip, max_side=max_side, single=single, branches=branches
            )
            halves, above, maps = device_outputs(out, arrays, list(dirs), channel_epsilon)
            host = {name: values.cpu().numpy() for name, values in halves.items()}
            above = {name: keep.cpu().numpy() for name, keep in above.items()}
            labels = {dirs[variant]: values.cpu().numpy() for variant, values in maps.items()}
            for position, image_id in enumerate(batch.ids):
                if label_channels:
                    present = [0, *index.present_classes(image_id)]
                    channels = {name: present for name in arrays if name.startswith("seg_")}
                else:
                    channels = {name: np.flatnonzero(keep[position]) for name, keep in above.items()}
                writer.submit(
                    _write_image,
                    store,
                    image_id,
                    {name: values[position] for name, values in host.items()},
                    channels,
                    {directory: maps[position] for directory, maps in labels.items()},
                )
