"""The objectness network of SONet (Islam et al., "Simpler Does It", Sec. 2.1).

Pixel objectness is the probability that a pixel belongs to an object of any
class ("thing") rather than to "stuff" (sky, grass, road, ...). A DeepLabv3
network phi_P with a single output channel is trained with binary
cross-entropy on the class-agnostic thing(1) / stuff(0) masks of a SOURCE
dataset, then run on the TARGET images; its sigmoid output is the guidance map
O, written in the format of the saliency store (one 8-bit ``<id>.png`` per
image, 0..255 = O in [0, 1]) so the label fusion reads it like a saliency map.

Source datasets (:func:`load_source`):

* ``coco_stuff``: the COCO-Stuff tree ``<root>/images/<split>/<name>.jpg`` and
  ``<root>/annotations/<split>/<name>.png`` (the "stuffthingmaps": uint8 label
  ids, 0..90 = COCO thing category id - 1, 91..181 = stuff, 255 = unlabelled).
  The "COCO-Binary" mask of the paper maps every thing id to 1, every stuff id
  to 0 and keeps 255 (ignored by the loss). The class names of an image are the
  COCO thing names (:data:`COCO_THING_NAMES`) of the ids present.
* ``folder`` (also ``generated``, the ``source/`` folder the demo dataset
  writes in this layout): ``<root>/images/<id>.png|.jpg|.jpeg``, ``<root>/masks/<id>.png``
  (0 = stuff / background, 1..254 = object, 255 = ignore) and, optionally,
  ``<root>/classes.csv`` with columns ``image_id,classes`` (space-separated
  class names present; write a name containing spaces with underscores, e.g.
  ``dining_table``). Without ``classes.csv`` only the overlapping setting is
  possible.

Settings of Eq. 1: *overlapping* trains on every source image;
*non-overlapping* (D_S-dagger, :func:`filter_non_overlapping`) first removes
every source image containing a class that overlaps a target class. Class
names are compared case-insensitively, with ``_`` read as a space.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.segmentation.deeplabv3 import DeepLabV3
from tqdm import tqdm

from wsss_core.data.coco import COCO_CATEGORY_IDS
from wsss_core.data.dataset import IMAGE_SUFFIXES, load_index
from wsss_core.data.transforms import network_input, to_tensor
from wsss_core.device import mixed_precision, pick_device, place_images, place_model
from wsss_core.io import IGNORE_LABEL, InputError, atomic_directory, read_gray, read_rgb, write_gray
from wsss_core.losses import class_agnostic_loss
from wsss_core.models.deeplab import DEEPLAB_ARCHS, build_deeplabv3, load_backbone_weights
from wsss_core.models.multitask import load_checkpoint
from wsss_core.train import AugmentedDataset, TrainConfig, fingerprint, fit

log = logging.getLogger(__name__)

SOURCE_KINDS = ("coco_stuff", "folder", "generated")  # generated: the demo dataset's source/ folder

# ---------------------------------------------------------------------------
# Class names
# ---------------------------------------------------------------------------

# The 80 COCO thing names, in the order of COCO_CATEGORY_IDS (category ids 1..90
# with gaps: 12, 26, 29, 30, 45, 66, 68, 69, 71, 83 are unused).
_COCO_NAMES_IN_ID_ORDER = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip
assert len(_COCO_NAMES_IN_ID_ORDER) == len(COCO_CATEGORY_IDS) == 80

#: COCO category id (1..90) -> thing name, e.g. 1 -> "person", 25 -> "giraffe".
#: A stuffthingmaps pixel value v in 0..90 is category id v + 1.
COCO_THING_NAMES: dict[int, str] = dict(zip(COCO_CATEGORY_IDS, _COCO_NAMES_IN_ID_ORDER))

#: COCO thing name -> PASCAL VOC class name, for the 20 VOC classes (all of them are COCO things).
COCO_TO_VOC: dict[str, str] = {
    "airplane": "aeroplane",
    "bicycle": "bicycle",
    "bird": "bird",
    "boat": "boat",
    "bottle": "bottle",
    "bus": "bus",
    "car": "car",
    "cat": "cat",
    "chair": "chair",
    "cow": "cow",
    "dining table": "diningtable",
    "dog": "dog",
    "horse": "horse",
    "motorcycle": "motorbike",
    "person": "person",
    "potted plant": "pottedplant",
    "sheep": "sheep",
    "couch": "sofa",
    "train": "train",
    "tv": "tvmonitor",
}

#: Class maps that may be named instead of given (``class_map="coco_to_voc"``).
CLASS_MAPS: dict[str, dict[str, str]] = {"coco_to_voc": COCO_TO_VOC}

# stuffthingmaps value -> COCO-Binary value: things 1, stuff 0, unlabelled 255.
COCO_STUFF_NUM_THINGS = 91  # values 0..90 are things, 91..181 stuff
_COCO_BINARY_LUT = np.zeros(256, dtype=np.uint8)
_COCO_BINARY_LUT[:COCO_STUFF_NUM_THINGS] = 1
_COCO_BINARY_LUT[IGNORE_LABEL] = IGNORE_LABEL


def _normalise_name(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").split())


def coco_binary_mask(stuffthing: np.ndarray) -> np.ndarray:
    """COCO-Binary: a stuffthingmaps label map -> 1 for things (0..90), 0 for stuff, 255 kept."""
    return _COCO_BINARY_LUT[np.asarray(stuffthing, dtype=np.uint8)]


def folder_binary_mask(mask: np.ndarray) -> np.ndarray:
    """A ``folder`` source mask -> 0 stuff / background, 1 object (1..254), 255 ignore."""
    mask = np.asarray(mask, dtype=np.uint8)
    return np.where(mask == IGNORE_LABEL, IGNORE_LABEL, mask > 0).astype(np.uint8)


def coco_stuff_class_names(stuffthing: np.ndarray) -> frozenset[str]:
    """COCO thing names present in a stuffthingmaps label map.

    A thing value without a COCO category (an unused id) is named ``coco_category_<id>``.
    """
    counts = np.bincount(np.asarray(stuffthing, dtype=np.uint8).ravel(), minlength=256)
    names = set()
    for value in np.flatnonzero(counts[:COCO_STUFF_NUM_THINGS]):
        category = int(value) + 1
        names.add(COCO_THING_NAMES.get(category, f"coco_category_{category}"))
    return frozenset(names)


# ---------------------------------------------------------------------------
# Source samples and the overlap filter (Eq. 1)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceSample:
    """One source image: its paths, how to read its mask, and the class names it contains.

    ``class_names`` is ``None`` when unknown (a ``folder`` source without
    ``classes.csv``, or a ``coco_stuff`` source listed without classes).
    """

    image_id: str
    image_path: Path
    mask_path: Path
    mask_format: str  # "coco_stuff" or "folder"
    class_names: frozenset[str] | None = None

    def binary_mask(self) -> np.ndarray:
        """The (H, W) uint8 thing(1) / stuff(0) / ignore(255) mask."""
        raw = read_gray(self.mask_path)
        return coco_binary_mask(raw) if self.mask_format == "coco_stuff" else folder_binary_mask(raw)


def _coco_stuff_samples(root: Path, split: str, with_classes: bool) -> list[SourceSample]:
    image_dir, annotation_dir = root / "images" / split, root / "annotations" / split
    for directory in (image_dir, annotation_dir):
        if not directory.is_dir():
            raise InputError(
                f"{directory}: directory not found (COCO-Stuff layout: images/<split>, annotations/<split>)"
            )
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    samples = []
    for image_path in tqdm(images, desc=f"COCO-Stuff {split}", unit="img", mininterval=2.0, disable=not with_classes):
        mask_path = annotation_dir / f"{image_path.stem}.png"
        if not mask_path.is_file():
            raise InputError(f"{mask_path}: annotation of {image_path.name} not found")
        names = coco_stuff_class_names(read_gray(mask_path)) if with_classes else None
        samples.append(SourceSample(image_path.stem, image_path, mask_path, "coco_stuff", names))
    return samples


def _read_classes_csv(path: Path) -> dict[str, frozenset[str]]:
    table: dict[str, frozenset[str]] = {}
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"image_id", "classes"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: missing column(s) {sorted(missing)}")
        for line_no, row in enumerate(reader, start=2):
            image_id = (row["image_id"] or "").strip()
            if image_id in table:
                raise InputError(f"{path}:{line_no}: image id {image_id!r} listed twice")
            table[image_id] = frozenset(_normalise_name(name) for name in (row["classes"] or "").split())
    return table


def _folder_samples(root: Path) -> list[SourceSample]:
    image_dir, mask_dir = root / "images", root / "masks"
    if not image_dir.is_dir():
        raise InputError(f"{image_dir}: directory not found (folder source layout: images/, masks/, classes.csv)")
    images: dict[str, Path] = {}
    for path in sorted(image_dir.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            if path.stem in images:
                raise InputError(f"{image_dir}: two images for id {path.stem!r}")
            images[path.stem] = path
    classes_csv = root / "classes.csv"
    classes = _read_classes_csv(classes_csv) if classes_csv.is_file() else None
    if classes is not None:
        unknown = sorted(set(classes) - set(images))
        if unknown:
            log.warning("%s: %d id(s) without an image ignored (e.g. %r)", classes_csv, len(unknown), unknown[0])
    samples = []
    for image_id, image_path in images.items():
        mask_path = mask_dir / f"{image_id}.png"
        if not mask_path.is_file():
            raise InputError(f"{mask_path}: mask of image {image_id!r} not found")
        names = None
        if classes is not None:
            if image_id not in classes:
                raise InputError(f"{classes_csv}: no row for image id {image_id!r}")
            names = classes[image_id]
        samples.append(SourceSample(image_id, image_path, mask_path, "folder", names))
    return samples


def load_source(
    kind: str, root: str | Path, *, split: str = "train2017", with_classes: bool = True
) -> list[SourceSample]:
    """List the samples of a source dataset of ``kind`` (one of :data:`SOURCE_KINDS`).

    ``split`` selects the COCO-Stuff sub-directory (ignored by ``folder``).
    With ``with_classes`` the class names of every COCO-Stuff image are read
    from its annotation (one pass over all annotation PNGs); a ``folder``
    source takes them from ``classes.csv`` when present.
    """
    root = Path(root)
    if kind == "coco_stuff":
        samples = _coco_stuff_samples(root, split, with_classes)
    elif kind in ("folder", "generated"):
        samples = _folder_samples(root)
    else:
        raise ValueError(f"unknown objectness source kind {kind!r}; available: {SOURCE_KINDS}")
    if not samples:
        raise InputError(f"{root}: the {kind} source holds no image")
    return samples


def filter_non_overlapping(
    samples: Sequence[SourceSample],
    target_class_names: Sequence[str],
    class_map: Mapping[str, str] | None = None,
) -> list[SourceSample]:
    """Eq. 1, non-overlapping setting D_S-dagger: drop each sample containing a target class.

    A source class overlaps when its name is a target class name, or when
    ``class_map[name]`` is (``class_map`` maps source names to target names,
    e.g. :data:`COCO_TO_VOC`). Names are compared case-insensitively with
    ``_`` read as a space. Samples whose classes are unknown are an error.
    """
    targets = {_normalise_name(name) for name in target_class_names}
    mapping = {_normalise_name(k): _normalise_name(v) for k, v in (class_map or {}).items()}
    kept: list[SourceSample] = []
    dropped_by: dict[str, int] = {}
    for sample in samples:
        if sample.class_names is None:
            raise InputError(
                f"{sample.image_path}: class names unknown, cannot apply the non-overlapping filter "
                "(a folder source needs classes.csv)"
            )
        overlapping = sorted(
            name
            for name in (_normalise_name(n) for n in sample.class_names)
            if name in targets or mapping.get(name) in targets
        )
        if overlapping:
            for name in overlapping:
                dropped_by[name] = dropped_by.get(name, 0) + 1
        else:
            kept.append(sample)
    log.info(
        "non-overlapping source: kept %d of %d samples (dropped %d containing %d target class(es))",
        len(kept),
        len(samples),
        len(samples) - len(kept),
        len(targets),
    )
    if dropped_by:
        counts = ", ".join(f"{name} ({count})" for name, count in sorted(dropped_by.items()))
        log.info("source classes overlapping the target: %s", counts)
    return kept


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------

OBJECTNESS_ARCHS = DEEPLAB_ARCHS


class ObjectnessNet(DeepLabV3):
    """torchvision DeepLabv3 with one output channel; ``forward`` returns the (B,1,H,W) logits.

    The state dict keys are torchvision's (``backbone.*``, ``classifier.*``).
    """

    model_config: dict[str, Any]

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        return super().forward(x)["out"]


def build_objectness_net(
    arch: str = "deeplabv3_mobilenet_v3_large", backbone_weights: str | os.PathLike | None = None
) -> ObjectnessNet:
    """DeepLabv3 phi_P with one output channel (torchvision, randomly initialised, nothing downloaded).

    ``arch`` is one of :data:`OBJECTNESS_ARCHS`. ``backbone_weights`` is an
    optional local file loaded into ``.backbone`` (see
    :func:`wsss_core.models.deeplab.load_backbone_weights` for the accepted key layouts), e.g. torchvision's ImageNet
    ``resnet50-11ad3fa6.pth`` or ``mobilenet_v3_large-5c1a4163.pth``.
    """
    reference = build_deeplabv3(arch, num_outputs=1)
    model = ObjectnessNet(reference.backbone, reference.classifier, None)
    if backbone_weights is not None:
        load_backbone_weights(model.backbone, backbone_weights, arch)
    model.model_config = {
        "kind": "objectness",
        "arch": arch,
        "num_outputs": 1,
        "backbone_weights": None if backbone_weights is None else os.fspath(backbone_weights),
    }
    return model


def load_objectness_net(path: str | os.PathLike, device: torch.device | str = "cpu") -> ObjectnessNet:
    """Rebuild the objectness network of checkpoint ``path`` (backbone weights are not re-read)."""
    checkpoint = load_checkpoint(path, device)
    config = checkpoint["model_config"]
    if not isinstance(config, Mapping) or config.get("kind") != "objectness":
        raise InputError(f"{path}: not an objectness checkpoint (model_config kind is {config.get('kind')!r})")
    model = build_objectness_net(str(config["arch"]))
    model.model_config = dict(config)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise InputError(f"{path}: weights do not fit {config['arch']}: {err}") from err
    return model.to(device)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


class ObjectnessDataset(AugmentedDataset):
    """Augmented source samples: ``image`` (normalised (3,h,w)) and ``objectness_labels`` (h,w) uint8.

    Labels are 0 stuff / 1 thing / 255 ignore (unlabelled and crop padding).
    """

    def __init__(self, samples: Sequence[SourceSample], config: TrainConfig) -> None:
        super().__init__(config)
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: int) -> dict[str, Tensor]:
        sample = self.samples[item]
        image = read_rgb(sample.image_path)
        mask = sample.binary_mask()
        if mask.shape != image.shape[:2]:
            raise InputError(
                f"{sample.mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, "
                f"its image is {image.shape[1]}x{image.shape[0]}"
            )
        image, (mask,) = self.augment(image, [mask], item)
        return {"image": to_tensor(image), "objectness_labels": torch.from_numpy(np.ascontiguousarray(mask))}


def objectness_loss(model: nn.Module, images: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """BCE-with-logits between phi_P(images) and the binary labels, 255 left out."""
    logits = model(images)
    return {"loss_objectness": class_agnostic_loss(logits.float(), batch["objectness_labels"])}


def _source_inputs(kind: str, root: Path, split: str) -> list[Path]:
    if kind == "coco_stuff":
        return [root / "images" / split, root / "annotations" / split]
    return [root / "images", root / "masks", root / "classes.csv"]


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
    are those of :func:`wsss_core.train.fit`; the checkpoint holds
    ``model_config`` (``kind: objectness``) and the weights.
    """
    config = TrainConfig.from_config(train_config)
    source_root = Path(source_root)
    if non_overlapping_with is not None:
        if target_class_names is not None:
            raise ValueError("give target_class_names or non_overlapping_with, not both")
        target_class_names = load_index(non_overlapping_with).class_names
    if isinstance(class_map, str):
        if class_map.lower() not in CLASS_MAPS:
            raise ValueError(f"unknown class map {class_map!r}; available: {sorted(CLASS_MAPS)}")
        class_map = CLASS_MAPS[class_map.lower()]
    non_overlapping = target_class_names is not None
    samples = load_source(source_kind, source_root, split=source_split, with_classes=non_overlapping)
    if non_overlapping:
        samples = filter_non_overlapping(samples, list(target_class_names), class_map)
        if not samples:
            raise InputError(
                f"{source_root}: no source image is left after removing those containing a target class "
                f"({', '.join(target_class_names)}); the non-overlapping setting needs images without them"
            )
    else:
        log.info("overlapping source: all %d samples", len(samples))
    if min(config.batch_size, len(samples)) < 2:
        raise ValueError(
            f"objectness training needs batches of at least 2 images (DeepLabv3's ASPP pooling has batch norm); "
            f"batch_size={config.batch_size}, {len(samples)} source sample(s)"
        )
    torch.manual_seed(config.seed)
    device = pick_device(threads)
    model = build_objectness_net(arch, backbone_weights)
    settings = {
        **asdict(config),
        "arch": arch,
        "backbone_weights": None if backbone_weights is None else os.fspath(backbone_weights),
        "source_kind": source_kind,
        "source_split": source_split,
        "target_class_names": None if target_class_names is None else sorted(target_class_names),
        "class_map": None if class_map is None else dict(sorted(class_map.items())),
        "num_samples": len(samples),
    }
    inputs = _source_inputs(source_kind, source_root, source_split)
    if backbone_weights is not None:
        inputs.append(Path(backbone_weights))
    fit(
        model,
        ObjectnessDataset(samples, config),
        config,
        device,
        stage="objectness",
        losses=objectness_loss,
        output_checkpoint=Path(output_checkpoint),
        log_csv=Path(log_csv),
        fingerprint=fingerprint("objectness", settings, inputs),
    )


# ---------------------------------------------------------------------------
# Inference: the guidance map O of the target images
# ---------------------------------------------------------------------------


@torch.no_grad()
def predict_objectness(
    model: nn.Module, image: np.ndarray, device: torch.device, max_side: int | None = None
) -> np.ndarray:
    """sigmoid(phi_P(image)) as an (H, W) float32 map in [0, 1], the size of ``image``.

    The image is brought down to ``max_side`` pixels (longer side) for the
    forward pass and the logits are bilinearly resized back to full size.
    """
    images = network_input(image, max_side)
    with mixed_precision(device):
        logits = model(place_images(images, device))
    logits = F.interpolate(logits.float(), size=image.shape[:2], mode="bilinear", align_corners=False)
    return torch.sigmoid(logits)[0, 0].cpu().numpy()


def objectness_maps(
    checkpoint: str | Path,
    dataset_root: str | Path,
    split: str,
    output_dir: str | Path,
    *,
    max_side: int | None = None,
    threads: int | None = None,
) -> None:
    """Write the objectness map O of every image of ``split`` as ``<output_dir>/<id>.png``.

    Maps are 8-bit grayscale, ``round(255 * O)``, the size of their image: the
    saliency store format. ``output_dir`` is replaced atomically.
    """
    device = pick_device(threads)
    model = load_objectness_net(checkpoint)
    place_model(model, device)
    model.eval()
    index = load_index(dataset_root)
    ids = index.ids(split)
    with atomic_directory(output_dir) as tmp:
        for image_id in tqdm(ids, desc=f"objectness {split}", unit="img", mininterval=2.0):
            image = read_rgb(index.image_path(image_id))
            objectness = predict_objectness(model, image, device, max_side)
            write_gray(tmp / f"{image_id}.png", np.round(objectness * 255.0).astype(np.uint8))
