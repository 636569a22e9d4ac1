"""Class activation maps and their two normalisations (Sec. 3.3, Eq. 1-3); rule dump_cams.

All functions take tensors whose class axis is ``-3`` (``(C,H,W)`` or ``(B,C,H,W)``).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from wsss_core.data.dataset import load_index
from wsss_core.data.transforms import input_scale, resize_input, to_tensor
from wsss_core.engine.device import pick_device, place_model
from wsss_core.inference.batches import image_batches, ordered_writer
from wsss_core.inference.forward import forward_resized
from wsss_core.logs import progress
from wsss_core.models.checkpoint import load_model
from wsss_core.models.multitask import MultiTaskNet
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import write_store

log = logging.getLogger(__name__)

_EPS = 1e-5


def class_activation_maps(features: Tensor, fc_weight: Tensor) -> Tensor:
    """Eq. 1: CAM_c(i,j) = sum_k W_k^c F_k(i,j).

    ``features`` is (B,K,h,w), ``fc_weight`` the (C,K) weight of the
    classifier's fc layer (bias excluded); returns (B,C,h,w).
    """
    return torch.einsum("bkhw,ck->bchw", features, fc_weight)


def scam(cam: Tensor) -> Tensor:
    """Eq. 2: sCAM_c = ReLU(CAM_c) / max_(i,j) CAM_c, per class over the spatial axes.

    A class whose CAM is nowhere positive gets an all-zero map.
    """
    positive = F.relu(cam)
    peak = positive.amax(dim=(-2, -1), keepdim=True)
    return positive / peak.clamp_min(_EPS)


def pcam(cam: Tensor) -> Tensor:
    """Eq. 3: pCAM_c(i,j) = exp(CAM_c(i,j)) / sum_c' exp(CAM_c'(i,j)), a softmax over classes."""
    return torch.softmax(cam, dim=-3)


def batch_cams(model: MultiTaskNet, images: Tensor, device: torch.device, max_side: int | None = None) -> Tensor:
    """Raw CAMs (B,C,H,W) of a batch of normalised same-size images (Eq. 1, in float32), upsampled to their size.

    The network sees the images brought down to ``max_side`` pixels (``None``: as they are).
    """
    size = tuple(images.shape[-2:])
    out = forward_resized(
        lambda batch: model(batch, branches=()),
        resize_input(images, input_scale(size, max_side)),
        size,
        device,
        head=lambda out: {"cam": class_activation_maps(out["features"], model.classifier.weight.float())},
    )
    return out["cam"]


def image_cams(model: MultiTaskNet, image: np.ndarray, device: torch.device, max_side: int | None = None) -> Tensor:
    """Raw CAMs (C,H,W) of one RGB image (:func:`batch_cams`)."""
    return batch_cams(model, to_tensor(image).unsqueeze(0), device, max_side)[0]


def _normalised(cam: Tensor, classes: np.ndarray) -> dict[str, np.ndarray]:
    """CAM, sCAM and pCAM of one image, over all C classes, cut to the channels of ``classes`` (float16)."""
    channels = torch.as_tensor(classes - 1, device=cam.device)
    return {name: maps[channels].half().cpu().numpy() for name, maps in (("cam", cam), ("scam", scam(cam)), ("pcam", pcam(cam)))}


def dump_cams(
    dataset_root: str | Path,
    split: str,
    checkpoint: str | Path,
    output_store: str | Path,
    *,
    max_side: int | None = None,
    batch_size: int = 8,
    threads: int | None = None,
    workers: int = 0,
    shard: Shard = ALL_IMAGES,
) -> None:
    """Write CAM, sCAM (Eq. 2) and pCAM (Eq. 3) of every image of ``split`` in ``shard`` to an HDF5 store.

    Both normalisations are computed over all C classes; only the channels of
    the classes present in the image (attribute ``classes``, 1-based, in the
    order of the channels) are stored, as float16 at image resolution.
    Images go through the network ``batch_size`` at a time (of one size),
    decoded on ``workers`` processes; the store is written on a thread.
    """
    device = pick_device(threads)
    index = load_index(dataset_root)
    model = place_model(load_model(checkpoint, device, index.num_classes), device).eval()
    ids = shard.select(index.ids(split))
    log.info("dumping CAM/sCAM/pCAM of %d %s images (shard %s) from %s", len(ids), split, shard.name, checkpoint)
    with write_store(output_store) as store, ordered_writer() as writer:
        store.set_attrs(class_names=list(index.class_names), normalisations=["cam", "scam", "pcam"])
        batches = image_batches(index, ids, batch_size=batch_size, workers=workers)
        for batch in progress(batches, total=len(ids), desc=f"CAMs {shard.name}", count=lambda b: len(b.ids)):
            cams = batch_cams(model, batch.images, device, max_side)
            for image_id, cam in zip(batch.ids, cams):
                classes = np.asarray(index.present_classes(image_id), dtype=np.int64)
                writer.submit(functools.partial(store.add, classes=classes), image_id, _normalised(cam, classes))
