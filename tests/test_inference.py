"""Whole-image inference: only the outputs asked for are brought back to the image size."""

from __future__ import annotations

import torch

from wsss_core.inference.forward import forward_resized
from wsss_core.models import build_model


def test_forward_resized_resizes_only_the_kept_outputs() -> None:
    model = build_model({"num_classes": 6, "backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8}).eval()
    images = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        out = forward_resized(lambda x: model(x, branches=("ca",)), images, (80, 112), torch.device("cpu"), keep=("ca_logits",))
        low = model(images, branches=("ca",))["ca_logits"]
    assert set(out) == {"ca_logits"} and out["ca_logits"].shape == (2, 1, 80, 112)
    expected = torch.nn.functional.interpolate(low, size=(80, 112), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out["ca_logits"], expected)
