"""The run's ``device``: auto / cuda / cpu, a GPU run that stops at once without a GPU, the device line of every GPU rule."""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from workflow_helpers import REPO, SNAKEMAKE, TINY, merge, write_config

from wsss_core.engine import device as device_module
from wsss_core.engine.device import DeviceError, describe_device, pick_device
from wsss_core.logs import log_to


def test_cuda_without_a_gpu_is_one_line_naming_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError) as info:
        pick_device(1, "cuda")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"device: cuda, but torch {torch.__version__} (") and "sees no GPU on " in message
    assert pick_device(1, "auto").type == "cpu"


def test_the_choice_comes_from_the_run_and_cpu_is_honoured_beside_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(device_module.DEVICE_ENV, "cpu")
    assert pick_device(1).type == "cpu"
    monkeypatch.setenv(device_module.DEVICE_ENV, "gpu")
    with pytest.raises(ValueError, match="device must be one of auto, cuda, cpu, not 'gpu'"):
        pick_device(1)


def test_the_device_line_names_the_gpu_its_memory_bf16_and_the_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: SimpleNamespace(name="NVIDIA H100 80GB HBM3", total_memory=80 * 2**30))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    line = describe_device(torch.device("cuda"))
    assert line == f"cuda:0 NVIDIA H100 80GB HBM3, 80.0 GiB, bf16 (torch {torch.__version__}, CUDA {torch.version.cuda})"
    assert describe_device(torch.device("cpu")).startswith(f"cpu, {torch.get_num_threads()} threads (torch {torch.__version__}")


def test_a_rule_that_cannot_have_its_device_stops_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    log = tmp_path / "train_classifier.log"
    with pytest.raises(SystemExit) as info:
        with log_to(log, "train_classifier"):
            pick_device(1, "cuda")
    assert info.value.code == 1
    lines = log.read_text().splitlines()
    assert "Traceback" not in log.read_text()
    assert [line for line in lines if " ERROR " in line] == [lines[-1]]
    assert "step train_classifier cannot start: device: cuda, but torch" in lines[-1]
    logging.getLogger().handlers.clear()


def test_device_cuda_on_a_machine_without_a_gpu_stops_the_workflow_within_seconds(tmp_path: Path) -> None:
    """No GPU visible (CUDA_VISIBLE_DEVICES empty): the run stops before its first job, with the one line."""
    config = write_config(tmp_path / "c.yaml", merge(TINY, {"device": "cuda"}))
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "2", "--configfile", str(config)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "device: cuda, but torch" in output and "CUDA_VISIBLE_DEVICES=''" in output and "sees no GPU" in output
    assert not (tmp_path / "results" / "tiny" / "dataset").exists()  # not even the first job ran
    assert elapsed < 60, elapsed
