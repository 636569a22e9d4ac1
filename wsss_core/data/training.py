"""Training samples: an augmented image with its image-level labels and the label maps a stage trains on."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from wsss_core.data.dataset import DatasetIndex
from wsss_core.data.transforms import augment, build_augmentation, to_tensor
from wsss_core.io import IGNORE_LABEL, binarize_label_map, read_gray, read_label_map, read_rgb, read_sized

SOFT_SCALE = 254.0  # soft class-agnostic targets travel the augmentation as 0-254, clear of the padding's 255


class AugmentationSettings(Protocol):
    """The augmentation part of a stage's training settings (:class:`wsss_core.engine.config.TrainConfig`)."""

    crop_size: int
    scale_range: Sequence[float]
    hflip: bool
    color_jitter: float
    pad_label: str
    seed: int


class AugmentedDataset(Dataset):
    """Base of the training datasets: the joint augmentation of a stage's settings.

    A sample is addressed by ``(epoch, index)`` (what the training engine's
    sampler yields) or by ``index`` alone for the epoch of :meth:`set_epoch`.
    The draws depend on (seed, epoch, index) only, so an epoch is
    reproducible, whichever process loads it, and a resumed run repeats what
    an uninterrupted one did. Subclasses implement :meth:`sample`.
    """

    def __init__(self, config: AugmentationSettings) -> None:
        self.config = config
        self.epoch = 0
        self.transform = build_augmentation(
            crop_size=config.crop_size,
            scale_range=config.scale_range,
            hflip=config.hflip,
            color_jitter=config.color_jitter,
            pad_label=config.pad_label,
        )

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch`` for samples addressed by index alone."""
        self.epoch = epoch

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Tensor | str]:
        epoch, item = key if isinstance(key, tuple) else (self.epoch, key)
        return self.sample(item, epoch)

    def sample(self, item: int, epoch: int) -> dict[str, Tensor | str]:
        """The augmented sample ``item`` of ``epoch``: ``image``, ``image_id`` and the targets."""
        raise NotImplementedError

    def augment(
        self, image: np.ndarray, maps: list[np.ndarray], item: int, epoch: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Augment ``image`` and its label ``maps`` jointly with the draws of sample ``item`` in ``epoch``."""
        return augment(self.transform, image, maps, seed=(self.config.seed, epoch, item))


class WeakLabelDataset(AugmentedDataset):
    """Training samples: augmented image, image labels and, when given, label maps.

    The maps are the pseudo labels of ``seg_label_dir`` / ``ca_label_dir``
    (0-255 maps, object where value / 255 > ``ca_threshold``; with
    ``ca_threshold`` None, value / 255 is a soft target) or, with
    ``ground_truth`` (the fully supervised baseline), the ground-truth mask and
    its object / background reduction. ``ca_labels`` are float32 targets in
    [0, 1], 255 where ignored (crop padding, unless padded as background).
    """

    def __init__(
        self,
        index: DatasetIndex,
        ids: Sequence[str],
        config: AugmentationSettings,
        seg_label_dir: Path | None = None,
        ca_label_dir: Path | None = None,
        ground_truth: bool = False,
        ca_threshold: float | None = 0.5,
    ) -> None:
        super().__init__(config)
        self.index = index
        self.ids = list(ids)
        self.seg_label_dir = seg_label_dir
        self.ca_label_dir = ca_label_dir
        self.ground_truth = ground_truth
        self.ca_threshold = ca_threshold

    def __len__(self) -> int:
        return len(self.ids)

    def sample(self, item: int, epoch: int) -> dict[str, Tensor | str]:
        image_id = self.ids[item]
        image = read_rgb(self.index.image_path(image_id))
        size = image.shape[:2]
        maps = []
        if self.ground_truth:
            mask = read_sized(self.index.mask_path(image_id), size, read_label_map)
            maps += [mask, binarize_label_map(mask)]
        if self.seg_label_dir is not None:
            maps.append(read_sized(self.seg_label_dir / f"{image_id}.png", size, read_label_map))
        if self.ca_label_dir is not None:
            ca = read_sized(self.ca_label_dir / f"{image_id}.png", size, read_gray)
            if self.ca_threshold is None:  # soft: 0-254 through the augmentation, 255 stays the padding
                maps.append(np.rint(ca.astype(np.float32) * (SOFT_SCALE / 255.0)).astype(np.uint8))
            else:
                maps.append((ca.astype(np.float32) / 255.0 > self.ca_threshold).astype(np.uint8))
        image, maps = self.augment(image, maps, item, epoch)
        sample = {
            "image": to_tensor(image),
            "image_id": image_id,
            "image_labels": torch.from_numpy(self.index.multi_hot(image_id)),
        }
        if self.ground_truth or self.seg_label_dir is not None:
            sample["seg_labels"] = torch.from_numpy(maps.pop(0))
        if self.ground_truth or self.ca_label_dir is not None:
            ca = maps.pop(0).astype(np.float32)
            if self.ca_label_dir is not None and self.ca_threshold is None:
                ca[ca != IGNORE_LABEL] /= SOFT_SCALE
            sample["ca_labels"] = torch.from_numpy(ca)
        return sample
