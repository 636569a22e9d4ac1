"""Image normalisation and the training augmentation, applied jointly to an image and its maps.

The augmentation of Sec. 4.1.3 (random horizontal flip, random scaling by a
factor in ``scale_range``, random ``crop_size`` crop, colour jitter) is a
torchvision ``transforms.v2`` pipeline: label maps travel as
``tv_tensors.Mask`` so they are resized with nearest neighbours, padded with
255 (ignore; or 0, background, with ``pad_label="background"`` as AuxSegNet's
crops are) and never colour-jittered.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from wsss_core.io import IGNORE_LABEL

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_PAD_COLOUR = [int(round(255 * m)) for m in IMAGENET_MEAN]


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H,W,3) uint8 RGB -> (3,H,W) float32 normalised with the ImageNet mean / std."""
    normalised = (image.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(normalised.transpose(2, 0, 1)))


def input_scale(shape: Sequence[int], max_side: int | None) -> float:
    """The factor that brings an image of ``shape`` (H, W, ...) down to ``max_side`` pixels (1 = as it is)."""
    if not max_side:
        return 1.0
    return min(1.0, float(max_side) / max(shape[0], shape[1]))


def network_input(image: np.ndarray, max_side: int | None = None) -> torch.Tensor:
    """A (1,3,h,w) normalised batch of one RGB image, brought down to ``max_side`` pixels."""
    return resize_input(to_tensor(image).unsqueeze(0), input_scale(image.shape, max_side))


def resize_input(images: torch.Tensor, scale: float) -> torch.Tensor:
    """Bilinearly rescale a (B,3,H,W) batch by ``scale`` (unchanged for 1)."""
    if scale == 1.0:
        return images
    size = [max(8, round(images.shape[-2] * scale)), max(8, round(images.shape[-1] * scale))]
    return torch.nn.functional.interpolate(images, size=size, mode="bilinear", align_corners=False)


class RandomScale(v2.Transform):
    """Resize by a factor drawn uniformly from ``scale_range`` (masks: nearest neighbour)."""

    def __init__(self, scale_range: Sequence[float]) -> None:
        super().__init__()
        self.low, self.high = float(scale_range[0]), float(scale_range[1])

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        scale = self.low + (self.high - self.low) * float(torch.rand(()))
        return {"size": [max(1, round(height * scale)), max(1, round(width * scale))]}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return self._call_kernel(TF.resize, inpt, params["size"], antialias=True)


PAD_LABELS = {"ignore": IGNORE_LABEL, "background": 0}


def build_augmentation(
    *, crop_size: int, scale_range: Sequence[float], hflip: bool, color_jitter: float, pad_label: str = "ignore"
) -> v2.Compose:
    """The joint training augmentation; ``color_jitter`` is the brightness / contrast / saturation strength,
    ``pad_label`` what the label maps' crop padding is (:data:`PAD_LABELS`)."""
    if pad_label not in PAD_LABELS:
        raise ValueError(f"unknown pad_label {pad_label!r}; available: {sorted(PAD_LABELS)}")
    steps: list[v2.Transform] = []
    if hflip:
        steps.append(v2.RandomHorizontalFlip())
    if tuple(scale_range) != (1.0, 1.0):
        steps.append(RandomScale(scale_range))
    steps.append(
        v2.RandomCrop(
            crop_size, pad_if_needed=True, fill={tv_tensors.Image: _PAD_COLOUR, tv_tensors.Mask: PAD_LABELS[pad_label]}
        )
    )
    if color_jitter > 0:
        steps.append(v2.ColorJitter(brightness=color_jitter, contrast=color_jitter, saturation=color_jitter))
    return v2.Compose(steps)


def augment(
    transform: v2.Compose, image: np.ndarray, maps: Sequence[np.ndarray], seed: Sequence[int]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Apply ``transform`` to an (H,W,3) uint8 image and (H,W) uint8 maps with a fixed random seed.

    The draws depend only on ``seed`` (e.g. run seed, epoch, sample index), so
    an epoch is reproducible and a resumed run sees the augmentations an
    uninterrupted one would have.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(np.random.SeedSequence(list(seed)).generate_state(1)[0]))
        out_image, *out_maps = transform(
            (
                tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))),
                *(tv_tensors.Mask(torch.from_numpy(np.ascontiguousarray(m))) for m in maps),
            )
        )
    return out_image.permute(1, 2, 0).numpy(), [m.numpy() for m in out_maps]
