"""Rule predict: segmentation and class-agnostic probabilities, single-scale and multi-scale + flip (Sec. 4.3.4)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from wsss_core.data.dataset import load_index
from wsss_core.data.transforms import input_scale, resize_input, to_tensor
from wsss_core.engine.device import pick_device, place_model
from wsss_core.inference.forward import forward_resized
from wsss_core.io import atomic_directory, read_rgb, write_label_map
from wsss_core.models.checkpoint import load_model
from wsss_core.store import write_store

log = logging.getLogger(__name__)


@torch.no_grad()
def predict_probs(
    model: nn.Module,
    image: np.ndarray,
    device: torch.device,
    *,
    scales: Sequence[float],
    flip: bool,
    max_side: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pr_seg (C+1,H,W) and Pr_ca (H,W) of one RGB image, max-fused over scales and flips.

    Each scaled (and, with ``flip``, mirrored) copy is predicted, its
    probabilities are resized back to the image size (and un-mirrored), and
    the element-wise maximum is taken; the fused Pr_seg is renormalised to sum
    to one over classes. Scales are relative to the image brought down to
    ``max_side`` pixels (``None``: the image as it is).
    """
    base = to_tensor(image).unsqueeze(0)
    seg_max: torch.Tensor | None = None
    ca_max: torch.Tensor | None = None
    for scale in (s * input_scale(image.shape, max_side) for s in scales):
        scaled = resize_input(base, scale)
        batch = torch.cat([scaled, scaled.flip(-1)]) if flip else scaled
        out = forward_resized(lambda x: model(x, branches=("ca", "seg")), batch, image.shape[:2], device)
        seg, ca = torch.softmax(out["seg_logits"], 1), torch.sigmoid(out["ca_logits"])
        if flip:
            seg = torch.maximum(seg[0], seg[1].flip(-1)).unsqueeze(0)
            ca = torch.maximum(ca[0], ca[1].flip(-1)).unsqueeze(0)
        seg_max = seg if seg_max is None else torch.maximum(seg_max, seg)
        ca_max = ca if ca_max is None else torch.maximum(ca_max, ca)
    assert seg_max is not None and ca_max is not None, "at least one scale is required"
    seg_max = seg_max / seg_max.sum(dim=1, keepdim=True)
    return seg_max[0].float().cpu().numpy(), ca_max[0, 0].float().cpu().numpy()


def predict_split(
    dataset_root: str | Path,
    split: str,
    checkpoint: str | Path,
    output_store: str | Path,
    output_plain_dir: str | Path,
    output_ms_dir: str | Path,
    *,
    scales: Sequence[float],
    flip: bool,
    max_side: int | None = None,
    threads: int | None = None,
) -> None:
    """Predict every image of ``split`` single-scale and multi-scale + flip (see :func:`predict_probs`).

    Writes the probabilities to ``output_store`` (per image ``seg_single``,
    ``ca_single``, ``seg_ms``, ``ca_ms``) and the argmax label maps to
    ``output_plain_dir`` and ``output_ms_dir``.
    """
    if not scales:
        raise ValueError("inference needs at least one scale")
    device = pick_device(threads)
    model = place_model(load_model(checkpoint, device), device).eval()
    index = load_index(dataset_root)
    ids = index.ids(split)
    log.info("predicting %d %s images with %s (scales %s, flip %s)", len(ids), split, checkpoint, list(scales), flip)
    with (
        write_store(output_store) as store,
        atomic_directory(output_plain_dir) as plain_dir,
        atomic_directory(output_ms_dir) as ms_dir,
    ):
        store.set_attrs(class_names=list(index.class_names), scales=list(scales), flip=flip)
        for image_id in tqdm(ids, desc=f"predict {split}", unit="img", mininterval=2.0):
            image = read_rgb(index.image_path(image_id))
            seg_single, ca_single = predict_probs(model, image, device, scales=[1.0], flip=False, max_side=max_side)
            seg_ms, ca_ms = predict_probs(model, image, device, scales=scales, flip=flip, max_side=max_side)
            store.add(image_id, {"seg_single": seg_single, "ca_single": ca_single, "seg_ms": seg_ms, "ca_ms": ca_ms})
            write_label_map(plain_dir / f"{image_id}.png", seg_single.argmax(axis=0))
            write_label_map(ms_dir / f"{image_id}.png", seg_ms.argmax(axis=0))
