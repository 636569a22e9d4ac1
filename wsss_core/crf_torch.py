"""Mean-field inference of the fully connected CRF in torch, on any device (the `torch` CRF backend).

The same model as :func:`wsss_core.crf.dense_crf` (Kraehenbuehl & Koltun
2011, Potts compatibility, symmetric kernel normalisation, ``iterations``
updates ``Q = softmax(-U + sum_m w_m N_m K_m N_m Q)``), with the two kernels
filtered differently from pydensecrf's permutohedral lattice:

* smoothness kernel ``exp(-|p_i - p_j|^2 / 2 sxy^2)``: an exact separable
  Gaussian convolution (radius 3 sxy);
* appearance kernel ``exp(-|p_i - p_j|^2 / 2 sxy^2 - |I_i - I_j|^2 / 2 srgb^2)``:
  a bilateral grid (Paris & Durand 2006) over the five features scaled to
  unit deviation: multilinear splat, a [1, 2, 1] blur along each axis,
  multilinear slice. Splat and slice add a variance of 1/6 cell^2 each and
  the blur 1/2, so cells of ``GRID_CELL`` = sqrt(6/5) feature units give the
  kernel unit deviation.

Both approximations are deliberate: the label agreement with pydensecrf on
real photos is measured by ``benchmarks/crf_backends.py`` (docs/method-choices.md: Method
choices). Memory grows with the grid (about 1.2 M cells for CRF_d on a
500 x 375 photo) times the labels, so it serves the two-label CRF of the G_ca
refresh (Eq. 4) on the training device.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from wsss_core.crf import CrfParams

GRID_CELL = math.sqrt(6.0 / 5.0)


def _gaussian_filter(values: Tensor, sxy: float) -> Tensor:
    """``values`` (L,H,W) convolved with the 2-D Gaussian of deviation ``sxy`` pixels (zero outside)."""
    radius = max(1, math.ceil(3.0 * sxy))
    taps = torch.arange(-radius, radius + 1, dtype=values.dtype, device=values.device)
    kernel = torch.exp(-(taps**2) / (2.0 * sxy**2))
    batch = values[:, None]
    batch = F.conv2d(batch, kernel.view(1, 1, 1, -1), padding=(0, radius))
    batch = F.conv2d(batch, kernel.view(1, 1, -1, 1), padding=(radius, 0))
    return batch[:, 0]


class BilateralGrid:
    """The appearance kernel of one image as splat, blur and slice on a dense 5-D grid."""

    def __init__(self, image: Tensor, sxy: float, srgb: float) -> None:
        height, width = image.shape[:2]
        ys, xs = torch.meshgrid(
            torch.arange(height, device=image.device, dtype=torch.float32),
            torch.arange(width, device=image.device, dtype=torch.float32),
            indexing="ij",
        )
        colour = image.reshape(-1, 3).float() / srgb
        features = torch.cat([ys.reshape(-1, 1) / sxy, xs.reshape(-1, 1) / sxy, colour], dim=1) / GRID_CELL
        features = features - features.min(dim=0).values + 1.0  # one empty cell below every feature
        base = features.floor()
        fraction = features - base
        self.shape = [int(size) + 3 for size in base.max(dim=0).values.tolist()]  # and two above
        strides = torch.tensor([math.prod(self.shape[axis + 1 :]) for axis in range(5)], device=image.device)
        corners = torch.tensor(list(itertools.product((0, 1), repeat=5)), device=image.device)  # (32,5)
        self.cells = ((base.long()[:, None, :] + corners) * strides).sum(dim=2)  # (N,32)
        self.weights = torch.where(corners.bool(), fraction[:, None, :], 1.0 - fraction[:, None, :]).prod(dim=2)

    def __call__(self, values: Tensor) -> Tensor:
        """``values`` (L,N) filtered by the kernel: (L,N)."""
        labels = values.shape[0]
        grid = values.new_zeros(labels, math.prod(self.shape))
        grid.index_add_(1, self.cells.reshape(-1), (values[:, :, None] * self.weights).reshape(labels, -1))
        grid = grid.view(labels, *self.shape)
        for axis in range(1, 6):
            blurred = 2.0 * grid
            size = grid.shape[axis]
            blurred.narrow(axis, 1, size - 1).add_(grid.narrow(axis, 0, size - 1))
            blurred.narrow(axis, 0, size - 1).add_(grid.narrow(axis, 1, size - 1))
            grid = blurred
        return (grid.reshape(labels, -1)[:, self.cells] * self.weights).sum(dim=2)


def mean_field_torch(image: Tensor, unary: Tensor, params: CrfParams) -> Tensor:
    """Marginals (L,H,W) of the dense CRF with unary energy ``unary`` (L,H,W) on ``image`` (H,W,3) uint8.

    Computed on the device of ``unary``; see the module docstring for the kernels.
    """
    labels, height, width = unary.shape
    unary = unary.float()
    bilateral = BilateralGrid(image.to(unary.device), params.bilateral_sxy, params.bilateral_srgb)
    ones = unary.new_ones(1, height, width)
    gaussian_norm = _gaussian_filter(ones, params.gaussian_sxy).clamp_min(1e-20).rsqrt()
    bilateral_norm = bilateral(ones.reshape(1, -1)).clamp_min(1e-20).rsqrt().reshape(1, height, width)
    q = torch.softmax(-unary, dim=0)
    for _ in range(params.iterations):
        smooth = gaussian_norm * _gaussian_filter(gaussian_norm * q, params.gaussian_sxy)
        appearance = bilateral_norm * bilateral((bilateral_norm * q).reshape(labels, -1)).reshape(labels, height, width)
        q = torch.softmax(-unary + params.gaussian_compat * smooth + params.bilateral_compat * appearance, dim=0)
    return q


def modelled_bytes(pixels: int, cells: int, labels: int, iterations: int) -> float:
    """Bytes the kernels of :func:`mean_field_torch` move for one image (splat, blur, slice and Gaussian, every iteration)."""
    corners = 32 * pixels * (4 * labels + 8 + 4)  # values, cell index, weight per pixel corner
    splat_slice = 2 * corners + 2 * cells * labels * 4
    blur = 5 * 7 * cells * labels * 4  # per axis: 2x grid, two shifted adds
    gaussian = 2 * 2 * pixels * labels * 4 * 2
    return iterations * (splat_slice + blur + gaussian)


def modelled_gpu_seconds(image: np.ndarray, crf: CrfParams, bytes_per_second: float) -> float:
    """GPU seconds of the 2-label CRF_d on ``image`` (H,W,3) with :class:`~wsss_core.crf.CrfParams` ``crf``, bound by
    the bytes :func:`modelled_bytes` says its kernels move at ``bytes_per_second``."""
    cells = int(np.prod(BilateralGrid(torch.as_tensor(image), crf.bilateral_sxy, crf.bilateral_srgb).shape))
    return modelled_bytes(image.shape[0] * image.shape[1], cells, 2, crf.iterations) / bytes_per_second
