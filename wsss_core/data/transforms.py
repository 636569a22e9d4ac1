"""Image normalisation and joint augmentation of an image with its label maps."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
import torch

from wsss_core.io import IGNORE_LABEL

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_PAD_COLOUR = tuple(int(round(255 * m)) for m in IMAGENET_MEAN)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H,W,3) uint8 RGB -> (3,H,W) float32 normalised with the ImageNet mean / std."""
    normalised = (image.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1)))


def augment(
    image: np.ndarray,
    maps: Sequence[np.ndarray],
    rng: np.random.Generator,
    *,
    crop_size: int,
    scale_range: Sequence[float],
    hflip: bool,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Random scale, horizontal flip, pad and random ``crop_size`` crop, applied jointly.

    ``maps`` are (H,W) uint8 label maps (nearest-neighbour resized, padded
    with 255 = ignore); the image is padded with the dataset mean colour.
    """
    scale = float(rng.uniform(scale_range[0], scale_range[1]))
    if scale != 1.0:
        height, width = image.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        maps = [cv2.resize(m, size, interpolation=cv2.INTER_NEAREST) for m in maps]
    if hflip and rng.random() < 0.5:
        image = image[:, ::-1]
        maps = [m[:, ::-1] for m in maps]
    height, width = image.shape[:2]
    pad_h, pad_w = max(crop_size - height, 0), max(crop_size - width, 0)
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=_PAD_COLOUR)
        maps = [cv2.copyMakeBorder(m, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=IGNORE_LABEL) for m in maps]
    height, width = image.shape[:2]
    top = int(rng.integers(0, height - crop_size + 1))
    left = int(rng.integers(0, width - crop_size + 1))
    window = (slice(top, top + crop_size), slice(left, left + crop_size))
    return np.ascontiguousarray(image[window]), [np.ascontiguousarray(m[window]) for m in maps]
