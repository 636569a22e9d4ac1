"""The online G_ca refresh (Eq. 4): both CRF backends write the same labels."""

from pathlib import Path

import numpy as np
import torch

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import CaRefresher
from wsss_core.data.dataset import load_index
from wsss_core.io import read_gray, write_gray
from wsss_core.models import build_model

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18]}


def _refresh(index, ids, prior_dir: Path, ca_dir: Path, backend: str) -> dict[str, np.ndarray]:
    torch.manual_seed(0)
    model = build_model({**MODEL, "num_classes": index.num_classes})
    refresher = CaRefresher(
        index, ids, prior_dir, ca_dir, crf=CrfParams(), device=torch.device("cpu"), max_side=None,
        workers=2, batch_size=4, every=1, epochs=3, crf_backend=backend,
    )  # fmt: skip
    try:
        refresher.after_epoch(model, 1)
    finally:
        refresher.close()
    return {image_id: read_gray(ca_dir / f"{image_id}.png") for image_id in ids}


def test_both_crf_backends_refresh_the_same_labels(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    ids = index.ids("train")[:6]
    prior_dir = tmp_path / "prior"
    prior_dir.mkdir()
    for image_id in ids:  # a prior that is the object masks, softened: the CRF has edges to find
        mask = (np.asarray(read_gray(index.mask_path(image_id))) % 255 > 0).astype(np.float32)
        write_gray(prior_dir / f"{image_id}.png", (np.clip(0.2 + 0.6 * mask, 0, 1) * 255).astype(np.uint8))
    labels = {backend: _refresh(index, ids, prior_dir, tmp_path / backend, backend) for backend in ("pydensecrf", "torch")}
    for image_id in ids:
        assert set(np.unique(labels["torch"][image_id])) <= {0, 255}
    alike = np.mean([(labels["torch"][i] == labels["pydensecrf"][i]).mean() for i in ids])
    assert alike >= 0.99
    assert np.mean([(labels["torch"][i] > 0).mean() for i in ids]) > 0.05  # not an empty refresh

