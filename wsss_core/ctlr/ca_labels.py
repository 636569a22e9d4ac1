"""Class-agnostic pseudo labels G_ca (Sec. 3.4, Eq. 4): their start from a prior map and their online refresh.

The prior of G_ca is the guidance map Pt_sal in joint training and G_ca^ref
when retraining. Before the first refresh G_ca is the prior binarised; a
refresh predicts Pr_ca with the current network and sets
G_ca = CRF_d((Pr_ca + prior) / 2). Label maps are 0/255 PNGs.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from wsss_core.crf import CrfParams, crf_foreground
from wsss_core.data.dataset import DatasetIndex
from wsss_core.data.transforms import network_input
from wsss_core.guidance.maps import read_guidance
from wsss_core.inference.forward import forward_resized
from wsss_core.io import read_image_size, read_rgb, write_gray
from wsss_core.parallel import map_images


def class_agnostic_labels(image: np.ndarray, ca_prob: np.ndarray, prior: np.ndarray, crf: CrfParams) -> np.ndarray:
    """Eq. 4 / Eq. 5: CRF_d((Pr_ca + prior) / 2), a (H,W) uint8 0/1 mask.

    ``prior`` is the saliency map Pt_sal (Eq. 4, online class-agnostic labels
    G_ca) or the binarised segmentation Br_s(Pr_seg) (Eq. 5, G_ca^ref).
    """
    return crf_foreground(image, (ca_prob + prior) / 2.0, crf)


def write_ca_label(path: Path, mask: np.ndarray) -> None:
    """Write a 0/1 class-agnostic mask as a 0/255 PNG."""
    write_gray(path, mask.astype(np.uint8) * np.uint8(255))


def binarize_ca_prior(
    index: DatasetIndex, ids: Sequence[str], ca_prior_dir: Path, output_dir: Path, threshold: float
) -> None:
    """The class-agnostic labels before the first refresh: prior > ``threshold``, for every id."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        prior = read_guidance(ca_prior_dir / f"{image_id}.png", read_image_size(index.image_path(image_id)))
        write_ca_label(output_dir / f"{image_id}.png", prior > threshold)


@torch.no_grad()
def _ca_probabilities(
    model: nn.Module, index: DatasetIndex, ids: Sequence[str], device: torch.device, max_side: int | None
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(id, image, Pr_ca) of every id: single scale, on the image brought down to ``max_side``."""
    for image_id in ids:
        image = read_rgb(index.image_path(image_id))
        out = forward_resized(lambda x: model(x, branches=("ca",)), network_input(image, max_side), image.shape[:2], device)
        yield image_id, image, torch.sigmoid(out["ca_logits"])[0, 0].cpu().numpy()


def _refresh_one(item: tuple[str, np.ndarray, np.ndarray], ca_prior_dir: Path, output_dir: Path, crf: CrfParams) -> None:
    image_id, image, ca_prob = item
    prior = read_guidance(ca_prior_dir / f"{image_id}.png", ca_prob.shape)
    write_ca_label(output_dir / f"{image_id}.png", class_agnostic_labels(image, ca_prob, prior, crf))


def refresh_ca_labels(
    model: nn.Module,
    index: DatasetIndex,
    ids: Sequence[str],
    ca_prior_dir: Path,
    output_dir: Path,
    *,
    crf: CrfParams,
    device: torch.device,
    max_side: int | None = None,
    workers: int = 1,
) -> None:
    """Eq. 4: G_ca = CRF_d((Pr_ca + prior) / 2) from the current network, for every id.

    Pr_ca is predicted single-scale on the image brought down to ``max_side``;
    the CRFs run on ``workers`` processes.
    """
    was_training = model.training
    model.eval()
    write = functools.partial(_refresh_one, ca_prior_dir=ca_prior_dir, output_dir=output_dir, crf=crf)
    items = _ca_probabilities(model, index, ids, device, max_side)
    map_images(write, items, workers=workers, total=len(ids), desc="refresh G_ca")
    model.train(was_training)
