"""The objectness network of SONet (Islam et al., "Simpler Does It", Sec. 2.1): rules train_objectness, objectness_maps.

Pixel objectness is the probability that a pixel belongs to an object of any
class ("thing") rather than to "stuff" (sky, grass, road, ...). The network
phi_P (:class:`wsss_core.models.objectness.ObjectnessNet`) is trained with
binary cross-entropy on the class-agnostic thing(1) / stuff(0) masks of a
SOURCE dataset (:mod:`wsss_core.sonet.source`), in the overlapping or the
non-overlapping setting of Eq. 1, then run on the TARGET images; its sigmoid
output is the guidance map O, written in the format of the guidance store
(one 8-bit ``<id>.png`` per image, 0..255 = O in [0, 1]) so the label fusions
read it like a saliency map.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from wsss_core.data.dataset import load_index
from wsss_core.data.training import AugmentationSettings, AugmentedDataset
from wsss_core.data.transforms import input_scale, resize_input, to_tensor
from wsss_core.engine.device import pick_device, place_model
from wsss_core.engine.fit import fit, start_stage
from wsss_core.engine.resume import fingerprint
from wsss_core.inference.batches import image_batches, ordered_writer
from wsss_core.inference.forward import forward_resized
from wsss_core.io import InputError, atomic_directory, read_rgb, read_sized, write_gray
from wsss_core.logs import progress
from wsss_core.losses import class_agnostic_loss
from wsss_core.models.checkpoint import load_objectness_net
from wsss_core.models.objectness import build_objectness_net
from wsss_core.sonet.classes import CLASS_MAPS
from wsss_core.sonet.source import SourceSample, filter_non_overlapping, load_source

log = logging.getLogger(__name__)


class ObjectnessDataset(AugmentedDataset):
    """Augmented source samples: ``image`` (normalised (3,h,w)) and ``objectness_labels`` (h,w) uint8.

    Labels are 0 stuff / 1 thing / 255 ignore (unlabelled and crop padding).
    """

    def __init__(self, samples: Sequence[SourceSample], config: AugmentationSettings) -> None:
        super().__init__(config)
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def sample(self, item: int, epoch: int) -> dict[str, Tensor | str]:
        sample = self.samples[item]
        image = read_rgb(sample.image_path)
        mask = read_sized(sample.mask_path, image.shape[:2], lambda _: sample.binary_mask())
        image, (mask,) = self.augment(image, [mask], item, epoch)
        return {
            "image": to_tensor(image),
            "image_id": sample.image_id,
            "objectness_labels": torch.from_numpy(np.ascontiguousarray(mask)),
        }


def objectness_loss(model: nn.Module, images: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """BCE-with-logits between phi_P(images) and the binary labels, 255 left out."""
    logits = model(images)
    return {"loss_objectness": class_agnostic_loss(logits.float(), batch["objectness_labels"])}


def _source_inputs(kind: str, root: Path, split: str) -> list[Path]:
    if kind == "coco_stuff":
        return [root / "images" / split, root / "annotations" / split]
    return [root / "images", root / "masks", root / "classes.csv"]


def _training_samples(
    source_kind: str,
    source_root: Path,
    source_split: str,
    target_class_names: Sequence[str] | None,
    class_map: Mapping[str, str] | None,
) -> list[SourceSample]:
    """The source samples of the setting: all of them, or (with target classes) the non-overlapping ones (Eq. 1)."""
    non_overlapping = target_class_names is not None
    samples = load_source(source_kind, source_root, split=source_split, with_classes=non_overlapping)
    if not non_overlapping:
        log.info("overlapping source: all %d samples", len(samples))
        return samples
    samples = filter_non_overlapping(samples, list(target_class_names), class_map)
    if not samples:
        raise InputError(
            f"{source_root}: no source image is left after removing those containing a target class "
            f"({', '.join(target_class_names)}); the non-overlapping setting needs images without them"
        )
    return samples


def _class_map(class_map: Mapping[str, str] | str | None) -> Mapping[str, str] | None:
    """A class map, or the one of :data:`CLASS_MAPS` it names."""
    if not isinstance(class_map, str):
        return class_map
    if class_map.lower() not in CLASS_MAPS:
        raise ValueError(f"unknown class map {class_map!r}; available: {sorted(CLASS_MAPS)}")
    return CLASS_MAPS[class_map.lower()]


def train_objectness(
    source_kind: str,
    source_root: str | Path,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    arch: str = "deeplabv3_mobilenet_v3_large",
    train_config: dict[str, Any],
    target_class_names: Sequence[str] | None = None,
    class_map: Mapping[str, str] | str | None = None,
    non_overlapping_with: str | Path | None = None,
    source_split: str = "train2017",
    threads: int | None = None,
    backbone_weights: str | os.PathLike | None = None,
) -> None:
    """Train phi_P on the binary masks of a source dataset (Sec. 2.1) with BCE.

    With ``target_class_names`` the non-overlapping setting D_S-dagger of Eq. 1
    is used (:func:`filter_non_overlapping` with ``class_map``, a mapping or
    the name of one of :data:`CLASS_MAPS`); ``non_overlapping_with`` (a target
    dataset root) instead takes them from that dataset's ``classes.txt``; with
    neither, the overlapping setting (all source samples). ``source_split`` is the
    COCO-Stuff split directory. Optimiser, schedule, augmentation and resume
    are those of :func:`wsss_core.engine.fit.fit`; the checkpoint holds
    ``model_config`` (``kind: objectness``) and the weights.
    """
    config, device = start_stage(train_config, threads)
    source_root = Path(source_root)
    if non_overlapping_with is not None:
        if target_class_names is not None:
            raise ValueError("give target_class_names or non_overlapping_with, not both")
        target_class_names = load_index(non_overlapping_with).class_names
    class_map = _class_map(class_map)
    samples = _training_samples(source_kind, source_root, source_split, target_class_names, class_map)
    if min(config.batch_size, len(samples)) < 2:
        raise ValueError(
            f"objectness training needs batches of at least 2 images (DeepLabv3's ASPP pooling has batch norm); "
            f"batch_size={config.batch_size}, {len(samples)} source sample(s)"
        )
    model = build_objectness_net(arch, backbone_weights)
    settings = {
        **asdict(config),
        **model.model_config,
        "source_kind": source_kind,
        "source_split": source_split,
        "target_class_names": None if target_class_names is None else sorted(target_class_names),
        "class_map": None if class_map is None else dict(sorted(class_map.items())),
        "num_samples": len(samples),
    }
    inputs = _source_inputs(source_kind, source_root, source_split) + ([Path(backbone_weights)] if backbone_weights else [])
    fit(
        model, ObjectnessDataset(samples, config), config, device, stage="objectness", losses=objectness_loss,
        output_checkpoint=Path(output_checkpoint), log_csv=Path(log_csv),
        fingerprint=fingerprint("objectness", settings, inputs),
    )


def predict_objectness(model: nn.Module, images: Tensor, device: torch.device, max_side: int | None = None) -> Tensor:
    """sigmoid(phi_P(images)) of a batch of normalised same-size images: (B, H, W) in [0, 1], at their size.

    The images are brought down to ``max_side`` pixels (longer side) for the
    forward pass and the logits are bilinearly resized back to full size.
    """
    size = tuple(images.shape[-2:])
    scaled = resize_input(images, input_scale(size, max_side))
    out = forward_resized(lambda x: {"logits": model(x)}, scaled, size, device)
    return torch.sigmoid(out["logits"])[:, 0]


def objectness_maps(
    checkpoint: str | Path,
    dataset_root: str | Path,
    split: str,
    output_dir: str | Path,
    *,
    max_side: int | None = None,
    batch_size: int = 8,
    threads: int | None = None,
) -> None:
    """Write the objectness map O of every image of ``split`` as ``<output_dir>/<id>.png``.

    Maps are 8-bit grayscale, ``round(255 * O)``, the size of their image: the
    guidance store format. ``batch_size`` images of one size go through the
    network at once; ``output_dir`` is replaced atomically.
    """
    device = pick_device(threads)
    model = place_model(load_objectness_net(checkpoint), device).eval()
    index = load_index(dataset_root)
    ids = index.ids(split)
    with atomic_directory(output_dir) as out, ordered_writer() as writer:
        batches = image_batches(index, ids, batch_size=batch_size)
        for batch in progress(batches, total=len(ids), desc=f"objectness {split}", count=lambda b: len(b.ids)):
            maps = torch.round(predict_objectness(model, batch.images, device, max_side) * 255.0).byte().cpu().numpy()
            for image_id, values in zip(batch.ids, maps):
                writer.submit(write_gray, out / f"{image_id}.png", values)
