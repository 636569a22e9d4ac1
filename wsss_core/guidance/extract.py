"""Rule extract_saliency: the saliency map Pt_sal of every training image, by one of three backends.

``classical`` computes :func:`wsss_core.guidance.classical.classical_saliency`;
``precomputed`` checks and copies the ``<id>.png`` maps of a directory (how
DSS / PoolNet maps are brought in); ``onnx`` runs an exported saliency network
(:mod:`wsss_core.guidance.onnx`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from wsss_core.data.dataset import DatasetIndex
from wsss_core.guidance.classical import classical_saliency
from wsss_core.guidance.onnx import onnx_saliency_maps
from wsss_core.io import InputError, read_gray, read_image_size, read_rgb, read_sized, write_gray
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard

SALIENCY_METHODS = ("classical", "precomputed", "onnx")


def _write_saliency(
    image_id: str, index: DatasetIndex, output_dir: Path, source: Path | None, params: Mapping[str, float | int]
) -> None:
    """Write the map of one image: imported from ``source`` when given (checked against the image's header), else
    :func:`classical_saliency`."""
    if source is None:
        image = read_rgb(index.image_path(image_id))
        saliency = np.round(classical_saliency(image, **params) * 255.0).astype(np.uint8)
    else:
        path = source / f"{image_id}.png"
        if not path.is_file():
            raise InputError(f"{source}: no saliency map for image id {image_id!r} (expected {path.name})")
        saliency = read_sized(path, read_image_size(index.image_path(image_id)), read_gray, what=f"image {image_id!r}")
    write_gray(output_dir / f"{image_id}.png", saliency)


def extract_saliency(
    dataset_root: str | Path,
    split: str,
    output_dir: str | Path,
    *,
    method: str = "classical",
    source: str | Path | None = None,
    onnx_options: Mapping[str, Any] | None = None,
    shard: Shard = ALL_IMAGES,
    workers: int = 1,
    **params: float | int,
) -> None:
    """Write the saliency map Pt_sal of every image of ``split`` in ``shard`` as ``<output_dir>/<id>.png``.

    ``method`` ``classical`` computes :func:`classical_saliency` (``params``
    are its keyword arguments); ``precomputed`` checks and copies the
    ``<id>.png`` maps of the directory ``source``; ``onnx`` runs the ONNX model
    file ``source`` with ``onnx_options`` (see
    :func:`wsss_core.guidance.onnx.onnx_saliency_maps`). Classical and
    precomputed maps are made on ``workers`` processes. Maps are 8-bit
    grayscale (0-255); ``output_dir`` is replaced atomically.
    """
    if method not in SALIENCY_METHODS:
        raise ValueError(f"unknown saliency method {method!r}; available: {SALIENCY_METHODS}")
    if method != "classical" and source is None:
        raise ValueError(f"saliency method {method!r} needs its source (guidance.dir or guidance.onnx.model)")
    if method == "onnx":
        onnx_saliency_maps(source, dataset_root, split, output_dir, shard=shard, **dict(onnx_options or {}))
        return

    def make_task(index: DatasetIndex, out: Path) -> functools.partial:
        return functools.partial(
            _write_saliency, index=index, output_dir=out, source=None if source is None else Path(source), params=params
        )

    per_image_stage(
        dataset_root, split, shard, [output_dir], make_task, workers=workers, desc=f"saliency {split} ({method})"
    )
