"""Guidance maps from an exported saliency / objectness network in ONNX format.

:func:`onnx_saliency_maps` runs any single-input network of the U²-Net /
ISNet / BASNet family (or an objectness network exported to ONNX) over the
images of a split and writes its map into the saliency store: one 8-bit
grayscale ``<id>.png`` per image, the size of the image.

Per image:

1. the RGB image is resized (bilinear: OpenCV's, or with ``antialias``
   Pillow's, which averages over the source pixels when it shrinks) to the
   network's ``input_size`` (H, W), scaled to [0, 1] by dividing by 255 and
   normalised per channel with ``mean`` / ``std``, giving a (1, 3, H, W)
   float32 input;
2. output number ``output_index`` is taken, of shape (1, 1, h, w), (1, h, w)
   or (h, w); with ``apply_sigmoid`` the logistic function is applied (for
   networks that output logits);
3. the map is min-max normalised to [0, 1] per image,
   ``(d - min(d)) / (max(d) - min(d))``, as U²-Net's reference inference does
   (``normPRED``); a constant map becomes all zeros;
4. it is bilinearly resized back to the image size (the same resize) and
   written as ``round(255 * map)``.

``onnxruntime`` is an optional dependency (the ``onnx`` extra); it is imported
only when this function runs. The CUDA execution provider is used when the
installed onnxruntime offers it, the CPU one otherwise.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np
from PIL import Image

from wsss_core.data.dataset import DatasetIndex
from wsss_core.io import InputError, read_rgb, write_gray
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard

log = logging.getLogger(__name__)

ONNXRUNTIME_PIP = "pip install onnxruntime (or onnxruntime-gpu), or the project's [onnx] extra"


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as err:
        raise InputError(f"ONNX guidance maps need the package onnxruntime: {ONNXRUNTIME_PIP}") from err
    return onnxruntime


def _session(model_path: Path, threads: int | None) -> Any:
    ort = _import_onnxruntime()
    if not model_path.is_file():
        raise InputError(f"{model_path}: ONNX model not found")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = max(1, int(threads))
    available = ort.get_available_providers()
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
    try:
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=providers or None)
    except Exception as err:  # onnxruntime raises its own exception types for bad files
        raise InputError(f"{model_path}: not a loadable ONNX model ({err})") from err
    log.info("onnx guidance: %s on %s", model_path, session.get_providers()[0])
    return session


def _check_input(session: Any, model_path: Path, input_size: tuple[int, int]) -> tuple[str, type]:
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InputError(
            f"{model_path}: expected a network with one image input, it has {len(inputs)} "
            f"({', '.join(i.name for i in inputs)})"
        )
    spec = inputs[0]
    shape = list(spec.shape)
    if len(shape) != 4:
        raise InputError(f"{model_path}: input {spec.name!r} has shape {shape}, expected (1, 3, H, W)")
    declared = [dim if isinstance(dim, int) else None for dim in shape]
    if declared[1] not in (None, 3):
        raise InputError(f"{model_path}: input {spec.name!r} has {declared[1]} channels, expected 3 (RGB)")
    for axis, wanted in zip((2, 3), input_size):
        if declared[axis] is not None and declared[axis] != wanted:
            raise InputError(
                f"{model_path}: input {spec.name!r} is fixed to {shape[2]}x{shape[3]} (HxW), "
                f"input_size asks for {input_size[0]}x{input_size[1]}"
            )
    dtype = {"tensor(float)": np.float32, "tensor(float16)": np.float16}.get(spec.type)
    if dtype is None:
        raise InputError(f"{model_path}: input {spec.name!r} is {spec.type}, expected float or float16")
    return spec.name, dtype


def _output_map(outputs: list[np.ndarray], output_index: int, model_path: Path) -> np.ndarray:
    if not -len(outputs) <= output_index < len(outputs):
        raise InputError(f"{model_path}: output_index {output_index} but the network has {len(outputs)} output(s)")
    values = np.asarray(outputs[output_index], dtype=np.float32)
    if values.ndim == 4 and values.shape[:2] == (1, 1):
        return values[0, 0]
    if values.ndim == 3 and values.shape[0] == 1:
        return values[0]
    if values.ndim == 2:
        return values
    raise InputError(
        f"{model_path}: output {output_index} has shape {values.shape}; expected (1, 1, h, w), (1, h, w) or (h, w)"
    )


def normalise_min_max(values: np.ndarray) -> np.ndarray:
    """U²-Net's ``normPRED``: ``(d - min) / (max - min)`` as float32; a constant map gives zeros."""
    values = np.asarray(values, dtype=np.float32)
    low, high = float(values.min()), float(values.max())
    if not np.isfinite(low) or not np.isfinite(high):
        raise ValueError("the network output contains NaN or infinite values")
    if high - low <= 1e-12:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def _resize(values: np.ndarray, size: tuple[int, int], antialias: bool) -> np.ndarray:
    """Bilinear resize of a uint8 RGB image or a float32 map to ``size`` (W, H): OpenCV's, or Pillow's (``antialias``)."""
    if not antialias:
        return cv2.resize(values, size, interpolation=cv2.INTER_LINEAR)
    mode = "F" if values.dtype == np.float32 else "RGB"
    return np.asarray(Image.fromarray(values, mode=mode).resize(size, Image.BILINEAR))


def onnx_saliency_maps(
    model_path: str | os.PathLike,
    dataset_root: str | Path,
    split: str,
    output_dir: str | Path,
    *,
    input_size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    output_index: int = 0,
    apply_sigmoid: bool = False,
    antialias: bool = False,
    threads: int | None = None,
    shard: Shard = ALL_IMAGES,
) -> None:
    """Write the map of ONNX network ``model_path`` for every image of ``split`` as ``<output_dir>/<id>.png``.

    ``input_size`` is the network input (H, W); ``mean`` / ``std`` normalise
    the [0, 1] RGB input per channel. See the module docstring for the
    per-image steps (min-max normalisation per image, U²-Net style). Only the
    images of ``shard`` are processed. Maps are
    8-bit grayscale; ``output_dir`` is replaced atomically.
    """
    model_path = Path(model_path)
    size = tuple(int(v) for v in input_size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"input_size must be (H, W) with positive sides, got {list(input_size)}")
    mean_arr = np.asarray(mean, dtype=np.float32).reshape(3)
    std_arr = np.asarray(std, dtype=np.float32).reshape(3)
    if np.any(std_arr <= 0):
        raise ValueError(f"std must be positive, got {list(std)}")
    session = _session(model_path, threads)
    input_name, input_dtype = _check_input(session, model_path, size)  # type: ignore[arg-type]

    def guidance_map(image_id: str, index: DatasetIndex, output_dir: Path) -> None:
        image = read_rgb(index.image_path(image_id))
        height, width = image.shape[:2]
        resized = _resize(image, (size[1], size[0]), antialias)
        normalised = (resized.astype(np.float32) / 255.0 - mean_arr) / std_arr
        batch = np.ascontiguousarray(normalised.transpose(2, 0, 1)[None]).astype(input_dtype)
        values = _output_map(session.run(None, {input_name: batch}), output_index, model_path)
        if apply_sigmoid:
            values = 0.5 * (1.0 + np.tanh(0.5 * values))  # the logistic function, overflow-free
        values = normalise_min_max(values)
        values = _resize(values, (width, height), antialias)
        write_gray(output_dir / f"{image_id}.png", np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8))

    def make_task(index: DatasetIndex, out: Path) -> Callable[[str], None]:
        return functools.partial(guidance_map, index=index, output_dir=out)

    # one process: onnxruntime runs the network on its own threads (or the GPU)
    per_image_stage(dataset_root, split, shard, [output_dir], make_task, workers=1, desc=f"onnx guidance {split}")
