"""Training stages: shapes of the model, losses going down, and resume after a kill."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import write_ca_label
from wsss_core.ctlr.joint import train_joint
from wsss_core.ctlr.training import multitask_losses, save_new_network, train_classifier, train_supervised
from wsss_core.data.dataset import load_index
from wsss_core.io import read_label_map, write_label_map
from wsss_core.models import build_model
from wsss_core.models.checkpoint import load_model

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18]}
TRAIN = {"epochs": 40, "batch_size": 4, "lr": 0.01, "crop_size": 48, "scale_range": [0.9, 1.1], "seed": 0}


def test_three_branches_have_the_documented_shapes():
    model = build_model({**MODEL, "num_classes": 6}).eval()
    out = model(torch.randn(2, 3, 64, 48))
    assert out["features"].shape == (2, 32, 8, 6)  # output stride 8, 4 x width channels
    assert out["cls_logits"].shape == (2, 6)
    assert out["ca_logits"].shape == (2, 1, 8, 6)
    assert out["seg_logits"].shape == (2, 7, 8, 6)
    assert set(model(torch.randn(1, 3, 32, 32), branches=("cls",))) == {"features", "cls_logits"}


@pytest.mark.parametrize(
    "branches, losses",
    [(("cls", "ca", "seg"), {"loss_cls", "loss_ca", "loss_seg"}), (("seg",), {"loss_seg"}), (("ca", "seg"), {"loss_ca", "loss_seg"})],
)
def test_multitask_losses_are_those_of_the_trained_branches(branches: tuple, losses: set) -> None:
    """Eq. 8-11 and the variants of CTLR Table 5: a branch left out contributes no loss."""
    model = build_model({**MODEL, "num_classes": 3})
    batch = {
        "image_labels": torch.tensor([[1.0, 0.0, 1.0]]),
        "ca_labels": torch.zeros(1, 32, 32, dtype=torch.long),
        "seg_labels": torch.zeros(1, 32, 32, dtype=torch.long),
    }
    out = multitask_losses(model, torch.randn(1, 3, 32, 32), batch, branches)
    assert set(out) == losses and all(torch.isfinite(value) for value in out.values())


def test_loss_weights_scale_their_terms_and_leave_the_others() -> None:
    """``loss_weights``: a factor on each named term of Eq. 8; a weight of a branch not trained adds no term."""
    model = build_model({**MODEL, "num_classes": 3}).eval()
    batch = {
        "image_labels": torch.tensor([[1.0, 0.0, 1.0]]),
        "ca_labels": torch.ones(1, 32, 32, dtype=torch.long),
        "seg_labels": torch.ones(1, 32, 32, dtype=torch.long),
    }
    images = torch.randn(1, 3, 32, 32)
    plain = multitask_losses(model, images, batch, ("cls", "ca", "seg"))
    weighted = multitask_losses(model, images, batch, ("cls", "ca", "seg"), weights={"ca": 0.5, "seg": 2.0})
    assert torch.equal(weighted["loss_cls"], plain["loss_cls"])
    assert torch.allclose(weighted["loss_ca"], 0.5 * plain["loss_ca"]) and torch.allclose(weighted["loss_seg"], 2 * plain["loss_seg"])
    assert plain["loss_seg"] > 0
    assert set(multitask_losses(model, images, batch, ("seg",), weights={"ca": 3.0, "seg": 1.0})) == {"loss_seg"}


def _train_command(dataset: Path, checkpoint: Path, history: Path) -> list[str]:
    call = (
        "from wsss_core.ctlr.training import train_classifier;"
        f"train_classifier({str(dataset)!r}, 'train', {str(checkpoint)!r}, {str(history)!r},"
        f" model_config=json.loads({json.dumps(json.dumps(MODEL))}),"
        f" train_config=json.loads({json.dumps(json.dumps(TRAIN))}), threads=1)"
    )
    return [sys.executable, "-c", f"import json; {call}"]


def test_killed_training_resumes_after_the_last_finished_epoch(tiny_dataset: Path, tmp_path: Path, caplog) -> None:
    checkpoint, history = tmp_path / "classifier.pt", tmp_path / "classifier.csv"
    resume = tmp_path / "classifier.pt.resume"
    process = subprocess.Popen(_train_command(tiny_dataset, checkpoint, history), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not resume.exists():
        assert process.poll() is None, "training ended before its first epoch finished"
        assert time.monotonic() < deadline, "no resume state appeared"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not checkpoint.exists(), "the kill came too late to test resuming"
    state = torch.load(resume, weights_only=True)
    finished = int(state["epoch"])
    assert 1 <= finished < TRAIN["epochs"]

    with caplog.at_level(logging.INFO, logger="wsss_core.engine"):
        train_classifier(tiny_dataset, "train", checkpoint, history, model_config=MODEL, train_config=TRAIN, threads=1)
    assert f"resuming from {resume} after epoch {finished}" in caplog.text
    assert f"epoch={finished + 1}," in caplog.text and f"epoch={finished}," not in caplog.text
    rows = pd.read_csv(history)
    assert rows["epoch"].tolist() == list(range(1, TRAIN["epochs"] + 1))
    assert rows["loss"].iloc[: finished].tolist() == pytest.approx([row["loss"] for row in state["history"]])
    assert not resume.exists()

    # the resumed run ends with exactly the weights of an uninterrupted one
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    train_classifier(tiny_dataset, "train", fresh / "c.pt", fresh / "c.csv", model_config=MODEL, train_config=TRAIN, threads=1)
    resumed_weights = torch.load(checkpoint, weights_only=True)["state_dict"]
    fresh_weights = torch.load(fresh / "c.pt", weights_only=True)["state_dict"]
    for name, value in fresh_weights.items():
        torch.testing.assert_close(resumed_weights[name], value, msg=name)
    losses = pd.read_csv(fresh / "c.csv")["loss"]
    assert losses.iloc[-5:].mean() < losses.iloc[:5].mean()


def test_resume_state_of_other_settings_is_not_used(tiny_dataset: Path, tmp_path: Path, caplog) -> None:
    settings = {**TRAIN, "epochs": 2}
    checkpoint = tmp_path / "c.pt"
    train_classifier(tiny_dataset, "train", checkpoint, tmp_path / "c.csv", model_config=MODEL, train_config=settings, threads=1)
    stale = torch.load(checkpoint, weights_only=True)
    torch.save({"fingerprint": "other", "epoch": 1, **stale}, tmp_path / "c.pt.resume")
    with caplog.at_level(logging.INFO, logger="wsss_core.engine"):
        train_classifier(tiny_dataset, "train", checkpoint, tmp_path / "c.csv", model_config=MODEL, train_config=settings, threads=1)
    assert "written for other inputs or settings" in caplog.text
    assert pd.read_csv(tmp_path / "c.csv")["epoch"].tolist() == [1, 2]


def test_supervised_reference_reports_every_epoch_with_its_model(tiny_dataset: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, float]] = []

    def after_epoch(model: torch.nn.Module, epochs_done: int) -> None:
        assert model.training, "the callback gets the network being trained"
        seen.append((epochs_done, float(next(model.parameters()).detach().abs().sum())))

    checkpoint = tmp_path / "supervised.pt"
    train_supervised(
        tiny_dataset, "train", checkpoint, tmp_path / "supervised.csv", model_config=MODEL,
        train_config={**TRAIN, "epochs": 3}, threads=1, on_epoch_end=after_epoch,
    )
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert len({weights for _, weights in seen}) == 3, "each call sees the weights after that epoch"
    final = torch.load(checkpoint, weights_only=True)["state_dict"]
    assert float(next(iter(final.values())).abs().sum()) == pytest.approx(seen[-1][1])


def test_joint_training_reports_every_epoch_after_its_refresh(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    seg_dir, prior_dir, ca_dir = tmp_path / "seg", tmp_path / "prior", tmp_path / "online_ca"
    for image_id in index.ids("train"):
        mask = read_label_map(index.mask_path(image_id))
        write_label_map(seg_dir / f"{image_id}.png", mask)
        write_ca_label(prior_dir / f"{image_id}.png", (mask > 0) & (mask != 255))
    classifier = tmp_path / "classifier.pt"
    train_classifier(
        tiny_dataset, "train", classifier, tmp_path / "c.csv", model_config=MODEL, train_config={**TRAIN, "epochs": 1}, threads=1
    )
    seen: list[tuple[int, float, dict[str, bytes]]] = []

    def files(directory: Path) -> dict[str, bytes]:
        return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}

    def after_epoch(model: torch.nn.Module, epochs_done: int) -> None:
        assert model.training
        seen.append((epochs_done, float(next(model.parameters()).detach().abs().sum()), files(ca_dir)))

    train_joint(
        tiny_dataset, "train", classifier, seg_dir, prior_dir, tmp_path / "joint.pt", ca_dir, tmp_path / "joint.csv",
        train_config={**TRAIN, "epochs": 2}, crf=CrfParams(), ca_prior_threshold=0.5, ca_refresh_every=1,
        threads=1, on_epoch_end=after_epoch,
    )  # fmt: skip
    assert [epoch for epoch, _, _ in seen] == [1, 2]
    assert seen[0][1] != seen[1][1], "each call sees the weights after that epoch"
    assert seen[0][2] != files(prior_dir), "the callback of epoch 1 sees the labels its refresh wrote"
    assert seen[1][2] == files(ca_dir)


def test_a_new_network_is_the_untrained_network_of_the_stage_seed(tiny_dataset: Path, tmp_path: Path) -> None:
    num_classes = load_index(tiny_dataset).num_classes
    paths = {seed: tmp_path / f"seed{seed}.pt" for seed in (3, 4)}
    for seed, path in paths.items():
        save_new_network(tiny_dataset, path, model_config=MODEL, train_config={**TRAIN, "seed": seed})
    checkpoint = torch.load(paths[3], weights_only=True)
    assert (checkpoint["stage"], checkpoint["epochs"]) == ("backbone", 0)
    torch.manual_seed(3)
    expected = build_model({**MODEL, "num_classes": num_classes}).state_dict()
    assert checkpoint["state_dict"].keys() == expected.keys()
    assert all(torch.equal(value, expected[key]) for key, value in checkpoint["state_dict"].items())
    other_seed = torch.load(paths[4], weights_only=True)["state_dict"]
    assert any(not torch.equal(value, other_seed[key]) for key, value in expected.items() if value.is_floating_point())
    loaded = load_model(paths[3], num_classes=num_classes)  # what train_joint starts from
    assert all(torch.equal(value, expected[key]) for key, value in loaded.state_dict().items())
