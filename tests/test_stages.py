"""Stage functions around the core method: precomputed saliency, supervision, export, the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from workflow_helpers import TINY

from wsss_core.cli import main as wsss_main
from wsss_core.crf import DEEPLAB_CRF, LABEL_EPSILON, CrfParams
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine.config import TrainConfig
from wsss_core.evaluate.export import export_voc_segmentation
from wsss_core.evaluate.figures import colorize, overlay
from wsss_core.evaluate.tables import compare_supervision, evaluate_pseudo_labels
from wsss_core.guidance.extract import extract_saliency
from wsss_core.inference.run_settings import predict_settings
from wsss_core.io import IGNORE_LABEL, InputError, read_gray, read_label_map, read_rgb, write_gray, write_label_map
from wsss_core.models import build_model


def test_precomputed_saliency_is_checked_and_copied(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    source = tmp_path / "dss"
    for value, image_id in enumerate(index.ids("train")):
        write_gray(source / f"{image_id}.png", np.full((64, 64), value, dtype=np.uint8))
    extract_saliency(tiny_dataset, "train", tmp_path / "out", method="precomputed", source=source)
    first, last = index.ids("train")[0], index.ids("train")[-1]
    assert read_gray(tmp_path / "out" / f"{last}.png")[0, 0] == len(index.ids("train")) - 1
    assert read_gray(tmp_path / "out" / f"{first}.png").shape == (64, 64)

    (source / f"{last}.png").unlink()
    with pytest.raises(InputError, match=f"no saliency map for image id '{last}'"):
        extract_saliency(tiny_dataset, "train", tmp_path / "out2", method="precomputed", source=source)
    assert not (tmp_path / "out2").exists()
    write_gray(source / f"{last}.png", np.zeros((32, 64), dtype=np.uint8))
    with pytest.raises(InputError, match=f"{last}.png: map is 64x32, image '{last}' is 64x64"):
        extract_saliency(tiny_dataset, "train", tmp_path / "out3", method="precomputed", source=source)


def test_supervised_samples_carry_the_ground_truth(tiny_dataset: Path) -> None:
    index = load_index(tiny_dataset)
    config = TrainConfig(epochs=1, batch_size=2, lr=0.01, crop_size=64, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.0)
    sample = WeakLabelDataset(index, index.ids("train"), config, ground_truth=True)[0]
    mask = read_label_map(index.mask_path(index.ids("train")[0]))
    np.testing.assert_array_equal(sample["seg_labels"].numpy(), mask)
    np.testing.assert_array_equal(sample["ca_labels"].numpy(), np.where(mask == IGNORE_LABEL, IGNORE_LABEL, mask > 0))


def test_augmentation_moves_image_and_maps_together(tiny_dataset: Path) -> None:
    index = load_index(tiny_dataset)
    config = TrainConfig(epochs=1, batch_size=2, lr=0.01, crop_size=80, scale_range=(0.7, 1.3), hflip=True, color_jitter=0.3)
    dataset = WeakLabelDataset(index, index.ids("train"), config, ground_truth=True)
    for epoch in range(3):
        dataset.set_epoch(epoch)
        sample = dataset[1]
        assert sample["image"].shape == (3, 80, 80)
        seg, ca = sample["seg_labels"].numpy(), sample["ca_labels"].numpy()
        assert set(np.unique(seg)) <= set(range(7)) | {IGNORE_LABEL}
        # the object / background map is still the reduction of the (transformed) class map
        np.testing.assert_array_equal(ca, np.where(seg == IGNORE_LABEL, IGNORE_LABEL, seg > 0))
        assert (seg == IGNORE_LABEL).any()  # the 64 px image is padded to the 80 px crop with 255
    dataset.set_epoch(1)
    torch.testing.assert_close(dataset[1]["image"], dataset[1]["image"])  # reproducible per (seed, epoch, sample)


def test_weak_over_full_table(tmp_path: Path) -> None:
    pd.DataFrame({"model": ["joint", "retrain"], "postprocessing": ["plain", "plain"], "mIoU": [40.0, 45.0]}).to_csv(
        tmp_path / "weak.csv", index=False
    )
    pd.DataFrame({"model": ["supervised"], "postprocessing": ["plain"], "mIoU": [60.0]}).to_csv(tmp_path / "full.csv", index=False)
    table = compare_supervision(tmp_path / "weak.csv", tmp_path / "full.csv", tmp_path / "ratio.csv")
    assert table["weak_over_full"].tolist() == [pytest.approx(0.75)]


def test_voc_export_writes_palette_pngs_per_id(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    for image_id in index.ids("val"):
        write_label_map(tmp_path / "pred" / f"{image_id}.png", np.ones((64, 64), dtype=np.uint8))
    target = tmp_path / "VOC2012" / "Segmentation" / "comp6_test_cls"
    export_voc_segmentation(tiny_dataset, "val", tmp_path / "pred", target)
    assert sorted(p.stem for p in target.iterdir()) == sorted(index.ids("val"))


def test_wsss_predict_segments_images(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    model = build_model({"num_classes": 6, "backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8})
    torch.save({"model_config": model.model_config, "state_dict": model.state_dict()}, tmp_path / "m.pt")
    images = sorted((tiny_dataset / "images").glob("val_*.png"))[:2]
    args = [str(tmp_path / "m.pt"), *map(str, images), "-o", str(tmp_path / "out"), "--scales", "0.5", "1", "--crf"]
    assert wsss_main(["predict", *args]) == 0
    for image in images:
        labels = read_label_map(tmp_path / "out" / image.name)
        assert labels.shape == (64, 64) and labels.max() <= 6
    assert wsss_main(["predict", str(tmp_path / "missing.pt"), str(images[0]), "-o", str(tmp_path / "o2")]) == 2
    assert "missing.pt: checkpoint not found" in capsys.readouterr().err


def test_wsss_predict_takes_the_runs_settings_and_writes_overlays(finished_run: Path, tmp_path: Path, caplog) -> None:
    run = finished_run / "results" / "tiny"
    checkpoint = run / "checkpoints" / "retrain.pt"
    stored = yaml.safe_load((run / "config.yaml").read_text())  # written when the run started
    assert stored["run"] == "tiny" and stored["inference"]["scales"] == TINY["inference"]["scales"]

    settings = predict_settings(checkpoint)
    assert settings.source == str(run / "config.yaml")
    assert settings.scales == tuple(TINY["inference"]["scales"]) and settings.flip is True
    assert settings.crf == CrfParams(**stored["crf"]["postprocess"]) and settings.label_epsilon == stored["crf"]["label_epsilon"]
    overridden = predict_settings(checkpoint, scales=[1.0], flip=False, max_side=32, crf=False)
    assert (overridden.scales, overridden.flip, overridden.max_side, overridden.crf) == ((1.0,), False, 32, None)

    image_path = sorted((run / "dataset" / "images").glob("val_*.png"))[0]
    caplog.set_level("INFO", logger="wsss.predict")
    assert wsss_main(["predict", str(checkpoint), str(image_path), "-o", str(tmp_path / "out"), "--device", "cpu", "--overlay"]) == 0
    assert f"settings from {run / 'config.yaml'}: scales [0.75, 1.0], flip True, max_side None, CRF on" in caplog.text
    labels = read_label_map(tmp_path / "out" / f"{image_path.stem}.png")
    image = read_rgb(image_path)
    shown = read_rgb(tmp_path / "out" / f"{image_path.stem}_overlay.png")
    assert shown.shape == image.shape and labels.shape == image.shape[:2]
    np.testing.assert_array_equal(shown, overlay(image, labels))


def test_a_checkpoint_without_its_run_predicts_with_the_fallback_settings(tmp_path: Path) -> None:
    checkpoint = tmp_path / "elsewhere" / "retrain.pt"  # copied out of its run: no config.yaml two levels up
    settings = predict_settings(checkpoint)
    assert settings.source == "defaults"
    assert (settings.scales, settings.flip, settings.max_side, settings.crf) == ((1.0,), True, None, None)
    with_crf = predict_settings(checkpoint, crf=True, scales=[0.5, 1.0])
    assert (with_crf.crf, with_crf.label_epsilon, with_crf.scales) == (DEEPLAB_CRF, LABEL_EPSILON, (0.5, 1.0))


def test_the_overlay_blends_object_pixels_only() -> None:
    image = np.full((4, 4, 3), 200, np.uint8)
    labels = np.array([[0, 1, 255, 2]] * 4, np.uint8)
    shown = overlay(image, labels, opacity=0.5)
    np.testing.assert_array_equal(shown[:, [0, 2]], image[:, [0, 2]])
    np.testing.assert_array_equal(shown[0, 1], np.rint(0.5 * 200 + 0.5 * colorize(labels)[0, 1]).astype(np.uint8))
    assert not np.array_equal(shown[:, 1], image[:, 1]) and not np.array_equal(shown[:, 3], image[:, 3])


def test_pseudo_label_table_scores_both_conventions_and_names_its_classes(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    ids = index.ids("train")
    exact, half = tmp_path / "exact", tmp_path / "half"
    for image_id in ids:  # the ground truth itself, and the same with its lower half ignored
        truth = read_label_map(index.mask_path(image_id))
        write_label_map(exact / f"{image_id}.png", truth)
        ignored = truth.copy()
        ignored[truth.shape[0] // 2 :] = IGNORE_LABEL
        write_label_map(half / f"{image_id}.png", ignored)
    table = evaluate_pseudo_labels(tiny_dataset, "train", {"exact": exact, "half": half}, tmp_path / "table.csv")
    exact_row, half_row = (table.set_index("labels").loc[name] for name in ("exact", "half"))
    assert exact_row["mIoU"] == exact_row["mIoU_labelled"] == pytest.approx(100.0)
    assert half_row["coverage"] == pytest.approx(50.0, abs=2.0)
    assert half_row["mIoU"] < 75.0 and half_row["mIoU_labelled"] == pytest.approx(100.0)  # ignored pixels: misses vs not scored
    present = {0} | {int(c) for image_id in ids for c in np.unique(read_label_map(index.mask_path(image_id))) if c != IGNORE_LABEL}
    assert exact_row["mean_over"].split() == [("background", *index.class_names)[c] for c in sorted(present)]
    names = ("background", *index.class_names)  # one IoU column per label, empty where it occurs nowhere
    assert [exact_row[names[c]] for c in sorted(present)] == [pytest.approx(100.0)] * len(present)
    assert all(np.isnan(exact_row[name]) for c, name in enumerate(names) if c not in present)
    assert all(half_row[names[c]] < 100.0 for c in sorted(present))
