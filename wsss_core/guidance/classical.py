"""A classical weight-free saliency detector, the ``classical`` guidance backend.

:func:`classical_saliency` combines two cues computed on the Gaussian-blurred
image in CIE L*a*b*:

1. **Frequency-tuned contrast** (Achanta, Hemami, Estrada and Suesstrunk,
   "Frequency-tuned Salient Region Detection", CVPR 2009): the Euclidean
   distance between each blurred pixel's Lab colour and the mean Lab colour of
   the whole image.
2. **Border background prior** (the boundary prior of Wei et al., "Geodesic
   Saliency Using Background Priors", ECCV 2012, in its simplest, colour-only
   form): the image border is assumed to be background; the border strip is
   cut into segments, the median Lab colour of each segment is taken, and a
   pixel's border contrast is its Lab distance to the *nearest* segment colour.

Each cue is divided by a high percentile of itself, the two are fused by a
weighted geometric mean, the result is stretched between a low and a high
percentile, clipped to [0, 1] and smoothed.
"""

from __future__ import annotations

import cv2
import numpy as np


def _border_contrast(lab: np.ndarray, border_width: int, segments_per_side: int) -> np.ndarray:
    """Lab distance of every pixel to the nearest median colour of a border segment."""
    height, width = lab.shape[:2]
    strips = (
        lab[:border_width, :],  # top
        lab[height - border_width:, :],  # bottom
        lab[:, :border_width].transpose(1, 0, 2),  # left, as rows
        lab[:, width - border_width:].transpose(1, 0, 2),  # right, as rows
    )
    colours = []
    for strip in strips:
        for chunk in np.array_split(strip, segments_per_side, axis=1):
            colours.append(np.median(chunk.reshape(-1, 3), axis=0))
    nearest = np.full((height, width), np.inf, dtype=np.float32)
    for colour in colours:
        np.minimum(nearest, np.linalg.norm(lab - colour.astype(np.float32), axis=2), out=nearest)
    return nearest


def classical_saliency(
    image: np.ndarray,
    *,
    blur_sigma: float = 1.5,
    border_weight: float = 0.4,
    border_fraction: float = 0.04,
    border_segments: int = 4,
    low_percentile: float = 5.0,
    high_percentile: float = 97.0,
    smooth_sigma: float = 1.0,
) -> np.ndarray:
    """Frequency-tuned saliency (Achanta et al., CVPR 2009) fused with a border background prior.

    Computes, on the image blurred by a Gaussian of ``blur_sigma`` pixels and
    converted to CIE L*a*b*:

    * ``ft = ||Lab_blur(x) - mean(Lab)||`` (frequency-tuned contrast);
    * ``bd = min_k ||Lab_blur(x) - c_k||`` where ``c_k`` are the median colours of
      ``border_segments`` segments per side of the border strip, the strip being
      ``border_fraction`` of the shorter side wide (at least one pixel).

    Each cue is divided by its ``high_percentile``; the fused map is
    ``ft ** (1 - border_weight) * bd ** border_weight`` (``border_weight=0``
    gives plain frequency-tuned saliency), linearly stretched so that its
    ``low_percentile`` maps to 0 and its ``high_percentile`` to 1, clipped, and
    smoothed by a Gaussian of ``smooth_sigma`` pixels (0 disables it).

    Args:
        image: ``(H, W, 3)`` uint8 RGB image.

    Returns:
        ``(H, W)`` float32 saliency in [0, 1], high on salient regions.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {image.shape}")
    if not 0.0 <= border_weight <= 1.0:
        raise ValueError(f"border_weight must be in [0, 1], got {border_weight}")
    if not 0.0 <= low_percentile < high_percentile <= 100.0:
        raise ValueError(f"need 0 <= low_percentile < high_percentile <= 100, got {low_percentile}, {high_percentile}")

    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    mean_colour = lab.reshape(-1, 3).mean(axis=0)
    if blur_sigma > 0:
        lab = cv2.GaussianBlur(lab, (0, 0), blur_sigma)

    eps = 1e-6
    frequency_tuned = np.linalg.norm(lab - mean_colour, axis=2)
    frequency_tuned /= np.percentile(frequency_tuned, high_percentile) + eps
    saliency = frequency_tuned ** (1.0 - border_weight)
    if border_weight > 0:
        border_width = max(1, round(border_fraction * min(image.shape[:2])))
        border = _border_contrast(lab, border_width, border_segments)
        border /= np.percentile(border, high_percentile) + eps
        saliency = saliency * border**border_weight

    low, high = np.percentile(saliency, (low_percentile, high_percentile))
    saliency = np.clip((saliency - low) / max(high - low, eps), 0.0, 1.0).astype(np.float32)
    if smooth_sigma > 0:
        saliency = cv2.GaussianBlur(saliency, (0, 0), smooth_sigma)
    return np.clip(saliency, 0.0, 1.0).astype(np.float32)
