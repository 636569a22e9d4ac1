"""Tests of the classical saliency detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wsss_core.data.synthetic import generate_dataset
from wsss_core.guidance.classical import classical_saliency
from wsss_core.guidance.extract import extract_saliency
from wsss_core.io import InputError, read_gray


def _red_disc(height: int = 96, width: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal(128.0, 12.0, size=(height, width, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width]
    disc = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 <= (min(height, width) / 5) ** 2
    image[disc] = (220, 20, 30)
    return image, disc


@pytest.mark.parametrize("border_weight", [0.0, 0.4, 1.0])
def test_red_disc_is_salient(border_weight: float) -> None:
    image, disc = _red_disc()
    saliency = classical_saliency(image, border_weight=border_weight)
    assert saliency[disc].mean() > 0.8
    assert saliency[~disc].mean() < 0.2
    assert saliency[disc].mean() - saliency[~disc].mean() > 0.6


def test_output_shape_dtype_range() -> None:
    image, _ = _red_disc(50, 70)
    saliency = classical_saliency(image)
    assert saliency.shape == (50, 70)
    assert saliency.dtype == np.float32
    assert saliency.min() >= 0.0 and saliency.max() <= 1.0


def test_constant_image_gives_a_finite_map() -> None:
    saliency = classical_saliency(np.full((32, 32, 3), 90, dtype=np.uint8))
    assert np.isfinite(saliency).all() and saliency.max() <= 1.0


def test_rejects_non_rgb_input() -> None:
    with pytest.raises(ValueError):
        classical_saliency(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(ValueError):
        classical_saliency(np.zeros((8, 8, 3), dtype=np.float32))


def test_extract_saliency_writes_one_map_per_image(tmp_path: Path) -> None:
    root = tmp_path / "data"
    generate_dataset(root, num_train=6, num_val=4, image_size=64, seed=1, num_classes=6, num_source=0)
    out = tmp_path / "saliency" / "val"
    extract_saliency(root, "val", out, blur_sigma=1.0)
    assert sorted(path.name for path in out.iterdir()) == [f"val_{i:04d}.png" for i in range(4)]
    for path in out.iterdir():
        values = read_gray(path)
        assert values.shape == (64, 64) and values.dtype == np.uint8 and values.max() > 0
    with pytest.raises(InputError):
        extract_saliency(root, "test", tmp_path / "saliency" / "test")
    assert not (tmp_path / "saliency" / "test").exists()
