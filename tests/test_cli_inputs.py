"""Every `wsss` command answers a missing or unreadable input with one line naming it and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsss_core.cli import main


def _run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.err.strip()


def _one_line_naming(status: int, err: str, path: Path, what: str) -> None:
    assert status == 2 and "\n" not in err and "Traceback" not in err, err
    assert err.startswith(f"wsss: error: {path}: ") and what in err, err


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Existing inputs of every kind (their content unread where a missing sibling stops the command first)."""
    (tmp_path / "checkpoint.pt").write_bytes(b"")
    (tmp_path / "image.jpg").write_bytes(b"")
    for directory in ("VOC2012", "benchmark_RELEASE", "run/metrics", "other/metrics"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "mine.yaml").write_text("run: mine\n")
    return {name: tmp_path / name for name in ("checkpoint.pt", "image.jpg", "VOC2012", "benchmark_RELEASE", "run", "other", "mine.yaml")}


def test_predict(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.pt"
    _one_line_naming(*_run(capsys, "predict", str(missing), str(files["image.jpg"]), "-o", str(tmp_path / "out")), missing, "checkpoint not found")
    image = tmp_path / "nowhere.jpg"
    _one_line_naming(*_run(capsys, "predict", str(files["checkpoint.pt"]), str(image), "-o", str(tmp_path / "out")), image, "image not found")
    garbage = files["checkpoint.pt"]
    garbage.write_bytes(b"not a checkpoint")
    _one_line_naming(*_run(capsys, "predict", str(garbage), str(files["image.jpg"]), "-o", str(tmp_path / "out")), garbage, "")


def test_inspect(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.h5"
    _one_line_naming(*_run(capsys, "inspect", str(missing)), missing, "no such file or directory")
    classes = tmp_path / "classes.txt"
    _one_line_naming(*_run(capsys, "inspect", str(files["run"]), "--classes", str(classes)), classes, "classes file not found")


def test_convert_weights(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "ilsvrc-cls_rna-a1_cls1000_ep-0001.params"
    _one_line_naming(*_run(capsys, "convert-weights", str(missing), "-o", str(tmp_path / "w.pth")), missing, "MXNet .params file not found")
    assert not (tmp_path / "w.pth").exists()


def test_prepare_voc(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    voc, sbd = tmp_path / "VOCnowhere", tmp_path / "SBDnowhere"
    _one_line_naming(*_run(capsys, "prepare", "voc", "--voc", str(voc), "--sbd", str(files["benchmark_RELEASE"])), voc, "not found")
    _one_line_naming(*_run(capsys, "prepare", "voc", "--voc", str(files["VOC2012"]), "--sbd", str(sbd)), sbd, "not found")


def test_doctor_and_config(tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.yaml"
    _one_line_naming(*_run(capsys, "doctor", "--configfile", str(missing)), missing, "config file not found")
    _one_line_naming(*_run(capsys, "config", "--configfile", str(missing)), missing, "config file not found")
    _one_line_naming(*_run(capsys, "config", "--configfile", str(files["mine.yaml"]), "--diff", str(missing)), missing, "config file not found")
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n")
    _one_line_naming(*_run(capsys, "config", "--configfile", str(listed)), listed, "holds a mapping of keys")


def test_compare(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere"
    _one_line_naming(*_run(capsys, "compare", str(missing), str(files["run"])), missing, "not a run directory")
    _one_line_naming(*_run(capsys, "compare", str(files["run"]), str(missing)), missing, "not a run directory")
