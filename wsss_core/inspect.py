"""``wsss inspect PATH``: what an intermediate result holds, without writing code.

An HDF5 store (``cams.h5``, ``predictions/<model>/<split>.h5``): its attributes, image ids and the
shape / dtype of each array; a checkpoint (``checkpoints/<stage>.pt``): stage, epochs, model
settings and tensor count; a directory of label or map PNGs (``labels/...``, ``saliency/``,
``segmentation/...``): ids, image mode, sizes and the histogram of pixel values.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np
import torch
from PIL import Image

from wsss_core.io import IGNORE_LABEL, InputError, read_gray
from wsss_core.store import read_store

_SHOWN_IDS = 5


def _ids_line(ids: Sequence[str]) -> str:
    more = f" ... ({len(ids) - _SHOWN_IDS} more)" if len(ids) > _SHOWN_IDS else ""
    return " ".join(ids[:_SHOWN_IDS]) + more


def inspect_store(path: Path) -> dict[str, Any]:
    """Attributes, ids, and per array name its dtype and the distinct shapes over the images."""
    with read_store(path) as store:
        attrs = store.attrs
    with h5py.File(path, "r") as handle:
        ids = sorted(handle)
        arrays: dict[str, dict[str, Any]] = {}
        classes: Counter = Counter()
        for image_id in ids:
            group = handle[image_id]
            classes.update(int(c) for c in np.atleast_1d(group.attrs.get("classes", [])))
            for name, dataset in group.items():
                entry = arrays.setdefault(name, {"dtype": str(dataset.dtype), "shapes": Counter()})
                entry["shapes"][tuple(dataset.shape)] += 1
    return {"kind": "HDF5 store", "attrs": attrs, "ids": ids, "arrays": arrays, "images_per_class": dict(classes)}


def inspect_checkpoint(path: Path) -> dict[str, Any]:
    """Stage, epochs, model settings and the tensors of a training checkpoint (loaded with weights_only)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a file that is not a checkpoint
        raise InputError(f"{path}: not a readable checkpoint ({err})") from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise InputError(f"{path}: not a checkpoint of a training rule (no state_dict)")
    state = checkpoint["state_dict"]
    return {
        "kind": "checkpoint",
        "stage": checkpoint.get("stage"),
        "epochs": checkpoint.get("epochs"),
        "model_config": checkpoint.get("model_config"),
        "tensors": len(state),
        "parameters": int(sum(t.numel() for t in state.values())),
        "dtypes": sorted({str(t.dtype) for t in state.values()}),
    }


def inspect_label_dir(path: Path) -> dict[str, Any]:
    """Ids, image modes, sizes and the pixel-value histogram of a directory of PNG maps."""
    files = sorted(path.glob("*.png"))
    if not files:
        raise InputError(f"{path}: no .png maps in this directory")
    modes: Counter = Counter()
    sizes: Counter = Counter()
    histogram = np.zeros(256, dtype=np.int64)
    for file in files:
        with Image.open(file) as image:
            modes[image.mode] += 1
            sizes[(image.height, image.width)] += 1
        histogram += np.bincount(read_gray(file).ravel(), minlength=256)
    return {
        "kind": "label directory",
        "ids": [file.stem for file in files],
        "modes": dict(modes),
        "sizes": dict(sizes),
        "histogram": {int(v): int(histogram[v]) for v in np.flatnonzero(histogram)},
    }


def run_class_names(path: Path) -> list[str]:
    """Class names of the run ``path`` lies in (the nearest ``dataset/classes.txt`` above it), or []."""
    for parent in path.resolve().parents:
        classes = parent / "dataset" / "classes.txt"
        if classes.is_file():
            return [line.strip() for line in classes.read_text().splitlines() if line.strip()]
    return []


def inspect_path(path: str | os.PathLike, class_names: Sequence[str] | None = None) -> dict[str, Any]:
    """What ``path`` holds: a store (.h5), a checkpoint (.pt, .pt.resume) or a directory of PNG maps.

    A directory's histogram names its values with ``class_names`` (default: those of the run it lies in).
    """
    path = Path(path)
    if path.is_dir():
        info = inspect_label_dir(path)
        info["class_names"] = list(class_names) if class_names is not None else run_class_names(path)
        return info
    if not path.is_file():
        raise InputError(f"{path}: no such file or directory")
    if path.suffix == ".h5":
        return inspect_store(path)
    if path.suffix in (".pt", ".resume"):
        return inspect_checkpoint(path)
    raise InputError(f"{path}: not a .h5 store, a .pt checkpoint or a directory of label PNGs")


def _value_name(value: int, class_names: Sequence[str]) -> str:
    if value == IGNORE_LABEL and class_names:
        return "255 (ignore)"
    if class_names and value <= len(class_names):
        return f"{value} ({(['background', *class_names])[value]})"
    return str(value)


def format_report(path: str | os.PathLike, info: dict[str, Any]) -> str:
    """Human-readable lines of :func:`inspect_path`'s result."""
    lines = [f"{path}: {info['kind']}"]
    if info["kind"] == "checkpoint":
        lines += [f"  stage: {info['stage']}, epochs: {info['epochs']}", f"  model: {info['model_config']}",
                  f"  {info['tensors']} tensors, {info['parameters']:,} values, dtypes {', '.join(info['dtypes'])}"]
        return "\n".join(lines)
    lines.append(f"  {len(info['ids'])} images: {_ids_line(info['ids'])}")
    if info["kind"] == "HDF5 store":
        class_names = [str(name) for name in info["attrs"].get("class_names", [])]
        for key, value in info["attrs"].items():
            lines.append(f"  attribute {key}: {value.tolist() if isinstance(value, np.ndarray) else value}")
        for name, entry in info["arrays"].items():
            shapes = ", ".join(f"{'x'.join(map(str, shape))} ({count})" for shape, count in entry["shapes"].most_common(3))
            lines.append(f"  array {name}: {entry['dtype']}, shapes {shapes}")
        if info["images_per_class"]:
            per_class = ", ".join(f"{_value_name(c, class_names)}: {n}" for c, n in sorted(info["images_per_class"].items()))
            lines.append(f"  images per class: {per_class}")
        return "\n".join(lines)
    lines.append(f"  modes: {info['modes']}, sizes (HxW): {info['sizes']}")
    total = sum(info["histogram"].values())
    palette = set(info["modes"]) == {"P"}  # class indices; grey maps (L) hold 0-255 values
    class_names = info.get("class_names", ()) if palette else ()
    for value, count in info["histogram"].items():
        lines.append(f"  value {_value_name(value, class_names)}: {count} px ({100 * count / total:.1f} %)")
    return "\n".join(lines)
