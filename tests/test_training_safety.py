"""Training safety: a diverging loss stops the stage with where and on which images; foreign checkpoints are named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from wsss_core.ctlr.training import train_classifier
from wsss_core.data.dataset import load_index
from wsss_core.io import InputError
from wsss_core.models import build_model, load_model
from wsss_core.models.checkpoint import save_checkpoint

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18]}
TRAIN = {"epochs": 2, "batch_size": 4, "lr": 0.01, "crop_size": 48, "seed": 0}


def test_a_diverging_loss_stops_the_stage_naming_epoch_iteration_and_images(tiny_dataset: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "classifier.pt"
    with pytest.raises(FloatingPointError) as caught:
        train_classifier(
            tiny_dataset, "train", checkpoint, tmp_path / "c.csv", model_config=MODEL,
            train_config={**TRAIN, "lr": 1e12}, threads=1,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("classifier: loss became nan at epoch 1, step ")
    assert "(iteration " in message and "Lower train.lr" in message
    shown = message.split("images of the batch: ", 1)[1].split(".", 1)[0].split(", ")
    assert len(shown) == TRAIN["batch_size"] and set(shown) <= set(load_index(tiny_dataset).ids("train"))
    assert not checkpoint.exists()


@pytest.fixture(scope="module")
def classifier_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "classifier.pt"
    save_checkpoint(path, build_model({**MODEL, "num_classes": 6}), stage="classifier", epochs=1)
    return path


def test_a_file_that_is_not_a_torch_checkpoint_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("this is not a checkpoint\n")
    with pytest.raises(InputError, match=rf"^{path}: not a readable torch checkpoint \([^\n]+\)$"):
        load_model(path)


def test_weights_of_another_model_config_are_one_line(classifier_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(classifier_checkpoint, weights_only=True)
    foreign = tmp_path / "foreign.pt"
    torch.save({**checkpoint, "model_config": {**checkpoint["model_config"], "decoder_channels": 16}}, foreign)
    with pytest.raises(InputError, match=rf"^{foreign}: weights do not fit its model_config \([^\n]+ is \(8, [^\n]+\)$"):
        load_model(foreign)


def test_a_checkpoint_for_another_class_count_is_refused(classifier_checkpoint: Path) -> None:
    with pytest.raises(InputError, match=rf"^{classifier_checkpoint}: checkpoint of a network for 6 classes, the dataset has 20$"):
        load_model(classifier_checkpoint, num_classes=20)


def test_wsss_predict_names_a_bad_checkpoint_in_one_line(tiny_dataset: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "model.pt"
    bogus.write_bytes(b"\x89PNG not torch")
    image = next((tiny_dataset / "images").iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "wsss_core.cli", "predict", str(bogus), str(image), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("wsss: error:")]
    assert errors and errors[0].startswith(f"wsss: error: {bogus}: not a readable torch checkpoint (")
    assert "Traceback" not in result.stderr
