"""Fully connected CRF (Kraehenbuehl & Koltun 2011) through pydensecrf, in one place.

Used as CRF_d in Eq. 4 and Eq. 5 (class-agnostic label fusion, two labels)
and for the post-processing of segmentation predictions (Sec. 4.3.4). Given a
torch ``device``, the same CRF runs as torch mean-field inference there
(:mod:`wsss_core.crf_torch`, the `torch` backend of the G_ca refresh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pydensecrf.densecrf as dcrf
import torch

from wsss_core.crf_torch import mean_field_torch

_PROB_FLOOR = 1e-5


@dataclass(frozen=True)
class CrfParams:
    """Mean-field iterations and the two pairwise kernels.

    Appearance (bilateral) kernel: ``bilateral_compat * exp(-|p|^2/2 bilateral_sxy^2
    - |I|^2/2 bilateral_srgb^2)``; smoothness kernel: ``gaussian_compat *
    exp(-|p|^2/2 gaussian_sxy^2)``. The unary is ``-log p``, or with
    ``unary_tau`` ``-log p / (unary_tau * sigmoid(p))`` (AuxSegNet's
    ``crf_for_sal``, tau 1.05, which softens the unary of confident labels
    less than that of doubtful ones). The defaults are CRF_d of Eq. 4-5,
    ``crf.class_agnostic`` in config.yaml (a test keeps them equal).
    """

    iterations: int = 10
    gaussian_sxy: float = 3.0
    gaussian_compat: float = 3.0
    bilateral_sxy: float = 50.0
    bilateral_srgb: float = 13.0
    bilateral_compat: float = 10.0
    unary_tau: float | None = None

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> "CrfParams":
        """Build from a config mapping with the field names above."""
        return cls(**{key: section[key] for key in cls.__dataclass_fields__ if key in section})


# DeepLab's post-processing CRF (Chen et al.): w1 = 4, theta_alpha = 121, theta_beta = 5, w2 = 3, theta_gamma = 3;
# crf.postprocess in config.yaml (a test keeps them equal), used by `wsss predict --crf`.
DEEPLAB_CRF = CrfParams(
    iterations=10, gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=121, bilateral_srgb=5, bilateral_compat=4
)
# crf.label_epsilon in config.yaml (a test keeps them equal): see crf_labels.
LABEL_EPSILON = 0.1


def dense_crf(image: np.ndarray, probs: np.ndarray, params: CrfParams, device: torch.device | None = None) -> np.ndarray:
    """Mean-field marginals ``(L,H,W)`` for the unary ``-log(probs)`` on RGB ``image``.

    ``image`` is (H,W,3) uint8, ``probs`` (L,H,W) non-negative and summing to 1
    over L (they are floored and renormalised before the log). pydensecrf
    computes them, or :func:`~wsss_core.crf_torch.mean_field_torch` on ``device``.
    """
    labels, height, width = probs.shape
    if image.shape[:2] != (height, width):
        raise ValueError(f"image {image.shape[:2]} and probabilities {(height, width)} differ in size")
    probs = np.maximum(probs.astype(np.float32), _PROB_FLOOR)
    probs /= probs.sum(axis=0, keepdims=True)
    unary = -np.log(probs)
    if params.unary_tau is not None:
        unary /= params.unary_tau / (1.0 + np.exp(-probs))
    if device is not None:
        marginals = mean_field_torch(torch.as_tensor(np.ascontiguousarray(image)), torch.from_numpy(unary).to(device), params)
        return marginals.cpu().numpy()
    crf = dcrf.DenseCRF2D(width, height, labels)
    crf.setUnaryEnergy(np.ascontiguousarray(unary.reshape(labels, -1)))
    crf.addPairwiseGaussian(sxy=params.gaussian_sxy, compat=params.gaussian_compat)
    crf.addPairwiseBilateral(
        sxy=params.bilateral_sxy,
        srgb=params.bilateral_srgb,
        rgbim=np.require(image, np.uint8, ["C_CONTIGUOUS", "WRITEABLE"]),
        compat=params.bilateral_compat,
    )
    marginals = np.asarray(crf.inference(params.iterations), dtype=np.float32)
    return marginals.reshape(labels, height, width)


def crf_foreground(
    image: np.ndarray, fg_prob: np.ndarray, params: CrfParams, device: torch.device | None = None, *, soft: bool = False
) -> np.ndarray:
    """CRF_d on a foreground probability map: the (H,W) uint8 0/1 MAP labelling, or with ``soft`` the (H,W)
    float32 foreground marginal in [0, 1] (``device``: see dense_crf)."""
    probs = np.stack([1.0 - fg_prob, fg_prob]).clip(0.0, 1.0)
    marginals = dense_crf(image, probs, params, device)
    if soft:
        return marginals[1].clip(0.0, 1.0)
    return marginals.argmax(axis=0).astype(np.uint8)


def labels_taking_part(probs: torch.Tensor, label_epsilon: float) -> torch.Tensor:
    """The labels of (..., L, H, W) probabilities that take part in the CRF: a (..., L) bool mask.

    A label takes part when its probability exceeds ``label_epsilon``
    somewhere in the image (``0``: every label), and always when it wins a
    pixel (its argmax), so that a nearly flat map (an early checkpoint, a
    short run) keeps the labels of its argmax instead of none.
    """
    flat = probs.flatten(-2)
    if label_epsilon <= 0:
        return torch.ones(flat.shape[:-1], dtype=torch.bool, device=probs.device)
    keep = flat.amax(dim=-1) > label_epsilon
    return keep.scatter(-1, flat.argmax(dim=-2), True)


def crf_labels(image: np.ndarray, probs: np.ndarray, params: CrfParams, *, label_epsilon: float) -> np.ndarray:
    """MAP label map (H,W) uint8 of the dense CRF over the labels that occur.

    Only the labels of :func:`labels_taking_part` take part: those above
    ``label_epsilon`` somewhere and those that win a pixel. The others could
    hardly win a pixel, and the CRF's cost grows with the number of labels.
    One label left is the answer for every pixel.
    """
    keep = np.flatnonzero(labels_taking_part(torch.from_numpy(np.ascontiguousarray(probs)), label_epsilon).numpy())
    if len(keep) == 1:
        return np.full(probs.shape[1:], keep[0], dtype=np.uint8)
    return keep[dense_crf(image, probs[keep], params).argmax(axis=0)].astype(np.uint8)
