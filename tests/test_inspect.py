"""`wsss inspect`: what a store, a checkpoint and a label directory hold; clear errors otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wsss_core.cli import main
from wsss_core.io import write_gray, write_label_map
from wsss_core.store import write_store


def test_inspect_a_cam_store(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with write_store(tmp_path / "cams.h5") as store:
        store.set_attrs(class_names=np.array(["cat", "dog"], dtype=object))
        store.add("a", {"pcam": np.zeros((2, 4, 5))}, classes=np.array([1, 2]))
        store.add("b", {"pcam": np.zeros((1, 4, 5))}, classes=np.array([2]))
    assert main(["inspect", str(tmp_path / "cams.h5")]) == 0
    out = capsys.readouterr().out
    assert "2 images: a b" in out and "attribute class_names: ['cat', 'dog']" in out
    assert "array pcam: float16, shapes 2x4x5 (1), 1x4x5 (1)" in out
    assert "images per class: 1 (cat): 1, 2 (dog): 2" in out


def test_inspect_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    state = torch.nn.Linear(3, 2).state_dict()
    torch.save({"model_config": {"backbone": "tiny"}, "state_dict": state, "stage": "multitask", "epochs": 4}, tmp_path / "m.pt")
    assert main(["inspect", str(tmp_path / "m.pt")]) == 0
    out = capsys.readouterr().out
    assert "stage: multitask, epochs: 4" in out and "2 tensors, 8 values" in out and "'backbone': 'tiny'" in out


def test_inspect_label_directories_names_the_run_classes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "results" / "demo"
    (run / "dataset").mkdir(parents=True)
    (run / "dataset" / "classes.txt").write_text("cat\ndog\n")
    write_label_map(run / "labels" / "x" / "i1.png", np.array([[0, 1], [2, 255]]))
    write_label_map(run / "labels" / "x" / "i2.png", np.array([[0, 0], [2, 2]]))
    write_gray(run / "labels" / "ca" / "i1.png", np.array([[0, 255], [255, 255]], dtype=np.uint8))
    assert main(["inspect", str(run / "labels" / "x"), str(run / "labels" / "ca")]) == 0
    out = capsys.readouterr().out
    assert "2 images: i1 i2" in out and "modes: {'P': 2}, sizes (HxW): {(2, 2): 2}" in out
    assert "value 0 (background): 3 px (37.5 %)" in out and "value 1 (cat): 1 px" in out
    assert "value 2 (dog): 3 px" in out and "value 255 (ignore): 1 px" in out
    assert "value 255: 3 px (75.0 %)" in out  # a grey 0/255 map's values are not classes


@pytest.mark.parametrize("name", ["missing", "notes.txt", "empty_dir", "bad.pt"])
def test_inspect_errors_name_the_path(tmp_path: Path, capsys: pytest.CaptureFixture, name: str) -> None:
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty_dir").mkdir()
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert main(["inspect", str(tmp_path / name)]) == 2
    assert f"{tmp_path / name}:" in capsys.readouterr().err
