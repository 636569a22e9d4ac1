"""The online G_ca refresh (Eq. 4): both CRF backends write the same labels; Pr_ca single-scale or multi-scale, as the config says."""

from pathlib import Path

import numpy as np
import torch

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import CaRefresher, class_agnostic_labels
from wsss_core.ctlr.refresh import refresh_prediction
from wsss_core.data.dataset import load_index
from wsss_core.guidance.maps import read_guidance
from wsss_core.inference.predict import predict_probs
from wsss_core.io import read_gray, read_rgb, write_gray
from wsss_core.models import build_model

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18]}


class _Ramp(torch.nn.Module):
    """Pr_ca logits rising from the left edge to the right one (a mirrored pass sees them fall), Pr_seg flat."""

    def forward(self, images: torch.Tensor, branches: tuple[str, ...]) -> dict[str, torch.Tensor]:
        batch, _, height, width = images.shape
        ramp = torch.linspace(-8.0, 8.0, width).expand(batch, 1, height, width)
        return {"ca_logits": ramp, "seg_logits": torch.zeros(batch, 2, height, width)}


def _refresh(
    index, ids, prior_dir: Path, ca_dir: Path, backend: str, model=None, scales=(1.0,), flip=False
) -> dict[str, np.ndarray]:
    if model is None:
        torch.manual_seed(0)
        model = build_model({**MODEL, "num_classes": index.num_classes})
    refresher = CaRefresher(
        index, ids, prior_dir, ca_dir, crf=CrfParams(), device=torch.device("cpu"), max_side=None,
        workers=2, batch_size=4, every=1, epochs=3, crf_backend=backend, scales=scales, flip=flip,
    )  # fmt: skip
    try:
        refresher.after_epoch(model, 1)
    finally:
        refresher.close()
    return {image_id: read_gray(ca_dir / f"{image_id}.png") for image_id in ids}


def _soft_masks(index, ids, prior_dir: Path) -> None:
    """A prior that is the object masks, softened: the CRF has edges to find."""
    prior_dir.mkdir()
    for image_id in ids:
        mask = (np.asarray(read_gray(index.mask_path(image_id))) % 255 > 0).astype(np.float32)
        write_gray(prior_dir / f"{image_id}.png", (np.clip(0.2 + 0.6 * mask, 0, 1) * 255).astype(np.uint8))


def test_both_crf_backends_refresh_the_same_labels(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    ids = index.ids("train")[:6]
    prior_dir = tmp_path / "prior"
    _soft_masks(index, ids, prior_dir)
    labels = {backend: _refresh(index, ids, prior_dir, tmp_path / backend, backend) for backend in ("pydensecrf", "torch")}
    for image_id in ids:
        assert set(np.unique(labels["torch"][image_id])) <= {0, 255}
    alike = np.mean([(labels["torch"][i] == labels["pydensecrf"][i]).mean() for i in ids])
    assert alike >= 0.99
    assert np.mean([(labels["torch"][i] > 0).mean() for i in ids]) > 0.05  # not an empty refresh


def test_a_multi_scale_refresh_uses_the_fused_pr_ca(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    ids = index.ids("train")[:6]
    prior_dir = tmp_path / "prior"
    _soft_masks(index, ids, prior_dir)
    prediction = {"scales": (0.5, 1.0, 1.5), "flip": True}
    labels = _refresh(index, ids, prior_dir, tmp_path / "ms", "pydensecrf", _Ramp(), **prediction)
    single = _refresh(index, ids, prior_dir, tmp_path / "single", "pydensecrf", _Ramp())
    for image_id in ids:
        image = read_rgb(index.image_path(image_id))
        _, ca_ms = predict_probs(_Ramp(), image, torch.device("cpu"), **prediction)
        prior = read_guidance(prior_dir / f"{image_id}.png", ca_ms.shape)
        expected = class_agnostic_labels(image, ca_ms, prior, CrfParams()).astype(np.uint8) * 255
        assert np.array_equal(labels[image_id], expected), image_id
        # single scale: only the right half is sure of an object; fused with the mirrored pass, both halves are
        left = slice(0, image.shape[1] // 4)
        assert (labels[image_id][:, left] > 0).mean() > (single[image_id][:, left] > 0).mean() + 0.5, image_id


def test_the_refresh_predicts_at_the_scales_its_mode_names() -> None:
    inference = {"scales": [0.75, 1.0, 1.25], "flip": True, "max_side": None}
    assert refresh_prediction("ms", inference) == {"scales": [0.75, 1.0, 1.25], "flip": True}
    assert refresh_prediction("single", inference) == {"scales": [1.0], "flip": False}
