"""Guidance maps from an ONNX saliency / objectness network."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from wsss_core.data.synthetic import generate_dataset
from wsss_core.guidance.onnx import normalise_min_max, onnx_saliency_maps
from wsss_core.io import InputError, read_gray, read_rgb

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

# the tests export with the TorchScript-based exporter (dynamo=False), which torch marks deprecated
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

INPUT_SIZE = (32, 48)  # H, W of the network input
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class TinySaliency(nn.Module):
    """conv -> relu -> strided conv: (1,3,H,W) -> one logit map (1,1,H/2,W/2), plus a second output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 1, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.conv2(torch.relu(self.conv1(x)))
        return logits, logits[:, 0]  # (1,1,h,w) and (1,h,w)


class TwoInputs(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (x + y).mean(dim=1, keepdim=True)


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[TinySaliency, Path, Path]:
    tmp = tmp_path_factory.mktemp("onnx")
    torch.manual_seed(0)
    model = TinySaliency().eval()
    path = tmp / "tiny.onnx"
    torch.onnx.export(
        model,
        (torch.randn(1, 3, *INPUT_SIZE),),
        str(path),
        input_names=["image"],
        output_names=["d0", "d1"],
        dynamo=False,
    )
    root = tmp / "data"
    generate_dataset(root, num_train=3, num_val=2, image_size=64, seed=0, num_classes=6, num_source=0)
    return model, path, root


def _reference(model: TinySaliency, image: np.ndarray, sigmoid: bool) -> np.ndarray:
    """The expected map, computed with the torch model."""
    resized = cv2.resize(image, (INPUT_SIZE[1], INPUT_SIZE[0]), interpolation=cv2.INTER_LINEAR)
    x = (resized.astype(np.float32) / 255.0 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    with torch.no_grad():
        out = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))[0]
    if sigmoid:
        out = torch.sigmoid(out)
    out = out[0, 0].numpy()
    out = (out - out.min()) / (out.max() - out.min())
    out = cv2.resize(out, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.round(np.clip(out, 0, 1) * 255)


@pytest.mark.parametrize("output_index, sigmoid", [(0, False), (1, True)])
def test_maps_match_the_torch_model(model_and_data, tmp_path: Path, output_index: int, sigmoid: bool) -> None:
    model, path, root = model_and_data
    out = tmp_path / "guidance" / "train"
    onnx_saliency_maps(
        path, root, "train", out, input_size=INPUT_SIZE, mean=MEAN, std=STD,
        output_index=output_index, apply_sigmoid=sigmoid, threads=1,
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [f"train_{i:04d}.png" for i in range(3)]
    for i in range(3):
        image = read_rgb(root / "images" / f"train_{i:04d}.png")
        values = read_gray(out / f"train_{i:04d}.png")
        assert values.shape == image.shape[:2] and values.dtype == np.uint8
        assert int(values.max()) - int(values.min()) > 150  # min-max normalised per image
        difference = np.abs(values.astype(np.float64) - _reference(model, image, sigmoid))
        assert difference.max() <= 2


def test_constant_map_normalises_to_zero() -> None:
    assert not normalise_min_max(np.full((4, 4), 3.0)).any()
    np.testing.assert_allclose(normalise_min_max(np.array([[1.0, 3.0]])), [[0.0, 1.0]])


def test_errors(model_and_data, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, path, root = model_and_data
    kwargs = dict(input_size=INPUT_SIZE, mean=MEAN, std=STD)
    with pytest.raises(InputError, match="missing.onnx"):
        onnx_saliency_maps(tmp_path / "missing.onnx", root, "val", tmp_path / "o", **kwargs)
    with pytest.raises(InputError, match="output_index 5"):
        onnx_saliency_maps(path, root, "val", tmp_path / "o", output_index=5, **kwargs)
    assert not (tmp_path / "o").exists()

    two = tmp_path / "two.onnx"
    example = torch.randn(1, 3, *INPUT_SIZE)
    torch.onnx.export(TwoInputs(), (example, example), str(two), input_names=["a", "b"], dynamo=False)
    with pytest.raises(InputError, match="one image input, it has 2"):
        onnx_saliency_maps(two, root, "val", tmp_path / "o", **kwargs)
    with pytest.raises(InputError, match="fixed to 32x48"):
        onnx_saliency_maps(path, root, "val", tmp_path / "o", input_size=(64, 64), mean=MEAN, std=STD)

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(InputError, match="pip install onnxruntime"):
        onnx_saliency_maps(path, root, "val", tmp_path / "o", **kwargs)
