"""Whole-image inference: only the outputs asked for are brought back to the image size, only the channels read are stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wsss_core.crf import CrfParams, crf_labels
from wsss_core.ctlr.refine import binarize_segmentation
from wsss_core.data.dataset import load_index
from wsss_core.inference.forward import forward_resized
from wsss_core.inference.predict import predict_split
from wsss_core.io import read_rgb
from wsss_core.models import build_model
from wsss_core.models.checkpoint import save_checkpoint
from wsss_core.store import read_store


def test_forward_resized_resizes_only_the_kept_outputs() -> None:
    model = build_model({"num_classes": 6, "backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8}).eval()
    images = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        out = forward_resized(lambda x: model(x, branches=("ca",)), images, (80, 112), torch.device("cpu"), keep=("ca_logits",))
        low = model(images, branches=("ca",))["ca_logits"]
    assert set(out) == {"ca_logits"} and out["ca_logits"].shape == (2, 1, 80, 112)
    expected = torch.nn.functional.interpolate(low, size=(80, 112), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out["ca_logits"], expected)


@pytest.fixture(scope="module")
def stores(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The train split predicted by one untrained model with all, the label and the epsilon channels stored."""
    work = tmp_path_factory.mktemp("predict")
    torch.manual_seed(0)
    model = build_model({"num_classes": 6, "backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8})
    save_checkpoint(work / "joint.pt", model, stage="multitask", epochs=1)
    out = {}
    for name, options in {"all": {}, "labels": {"label_channels": True}, "epsilon": {"channel_epsilon": 0.1}}.items():
        out[name] = work / f"{name}.h5"
        predict_split(tiny_dataset, "train", work / "joint.pt", out[name], arrays=["seg_ms", "ca_ms"],
                      scales=[0.75, 1.0], flip=True, batch_size=4, threads=1, **options)  # fmt: skip
    return out


def test_the_train_split_keeps_the_classes_ctlr_reads_and_the_same_br_s(tiny_dataset: Path, stores: dict[str, Path]) -> None:
    index = load_index(tiny_dataset)
    with read_store(stores["all"]) as dense, read_store(stores["labels"]) as sparse:
        for image_id in index.ids("train"):
            full, kept = dense.read(image_id, "seg_ms", "ca_ms"), sparse.read(image_id, "seg_ms", "ca_ms")
            present = [0, *index.present_classes(image_id)]
            assert kept["seg_ms"].shape == full["seg_ms"].shape == (7, 64, 64)
            np.testing.assert_array_equal(kept["seg_ms"][present], full["seg_ms"][present])
            assert not np.delete(kept["seg_ms"], present, axis=0).any()
            np.testing.assert_array_equal(kept["ca_ms"], full["ca_ms"])
            np.testing.assert_array_equal(
                binarize_segmentation(kept["seg_ms"], index.present_classes(image_id)),
                binarize_segmentation(full["seg_ms"], index.present_classes(image_id)),
            )
    assert stores["labels"].stat().st_size < stores["all"].stat().st_size


def test_the_epsilon_store_gives_the_test_time_crf_the_same_labels(tiny_dataset: Path, stores: dict[str, Path]) -> None:
    index, params = load_index(tiny_dataset), CrfParams(iterations=3)
    with read_store(stores["all"]) as dense, read_store(stores["epsilon"]) as sparse:
        for image_id in index.ids("train"):
            full, kept = dense.read(image_id, "seg_ms")["seg_ms"], sparse.read(image_id, "seg_ms")["seg_ms"]
            above = full.reshape(len(full), -1).max(axis=1) > 0.1
            np.testing.assert_array_equal(kept[above], full[above])
            assert not kept[~above].any()
            image = read_rgb(index.image_path(image_id))
            np.testing.assert_array_equal(
                crf_labels(image, kept, params, label_epsilon=0.1), crf_labels(image, full, params, label_epsilon=0.1)
            )


def test_the_channels_are_chosen_one_way(tiny_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        predict_split(tiny_dataset, "train", tmp_path / "none.pt", tmp_path / "s.h5", arrays=["seg_ms"], scales=[1.0],
                      flip=False, channel_epsilon=0.1, label_channels=True)  # fmt: skip
