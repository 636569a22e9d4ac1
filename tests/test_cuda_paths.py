"""The CUDA code paths (bf16 autocast, channels-last, pinned memory, sparse loss checks), forced on the CPU.

``WSSS_FORCE_CUDA_PATHS=1`` makes :mod:`wsss_core.engine.device` take the
branches a GPU run takes. One training step and one prediction go through
them and are compared with the fp32 path: bf16 keeps 8 bits of mantissa, so
losses agree within 1 % (relative) and probabilities within 0.005
(absolute), with at least 99 % of the pixels given the same class.
"""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from wsss_core.ctlr.training import multitask_losses
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine import device as device_module
from wsss_core.engine.config import TrainConfig
from wsss_core.engine.fit import CHECK_EVERY, _Run
from wsss_core.inference.predict import predict_probs
from wsss_core.io import read_rgb
from wsss_core.models import build_model

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18], "num_classes": 6}
CPU = torch.device("cpu")
LOSS_RTOL, PROB_ATOL, SAME_CLASS = 0.01, 0.005, 0.99  # measured: 3e-4, 6e-5, 1.0


@pytest.fixture()
def forced(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(device_module.FORCE_CUDA_PATHS, "1")


def _one_step(dataset_root: Path) -> tuple[_Run, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    index = load_index(dataset_root)
    config = TrainConfig(epochs=1, batch_size=4, lr=0.01, crop_size=48, seed=0)
    dataset = WeakLabelDataset(index, index.ids("train"), config, ground_truth=True)  # all three branches train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pin_memory without an accelerator: torch warns and does not pin
        run = _Run(build_model(MODEL), dataset, config, CPU, "classifier")
        batch = next(iter(run.loader))
    batch.pop("image_id")
    losses = lambda model, images, batch: multitask_losses(model, images, batch, branches=("cls", "ca", "seg"))  # noqa: E731
    return run, run._step(batch, losses)


def test_forcing_takes_every_cuda_branch_on_the_cpu(forced, tiny_dataset: Path) -> None:
    assert device_module.cuda_paths(CPU)
    assert device_module.mixed_precision(CPU).fast_dtype == torch.bfloat16 and device_module.pin_memory(CPU)
    run, terms = _one_step(tiny_dataset)
    assert run.check_every == CHECK_EVERY and run.loader.pin_memory
    conv = next(module for module in run.model.modules() if isinstance(module, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert device_module.place_images(torch.zeros(2, 3, 8, 8), CPU).is_contiguous(memory_format=torch.channels_last)
    assert all(torch.isfinite(value) for value in terms.values())


def test_a_training_step_on_the_cuda_paths_agrees_with_fp32(tiny_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(device_module.FORCE_CUDA_PATHS, "0")
    _, fp32 = _one_step(tiny_dataset)
    monkeypatch.setenv(device_module.FORCE_CUDA_PATHS, "1")
    _, bf16 = _one_step(tiny_dataset)
    assert set(fp32) == set(bf16) == {"loss_cls", "loss_ca", "loss_seg", "loss"}
    for name in fp32:
        assert torch.isfinite(bf16[name])
        assert float(bf16[name]) == pytest.approx(float(fp32[name]), rel=LOSS_RTOL), name


def test_a_prediction_on_the_cuda_paths_agrees_with_fp32(tiny_dataset: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    torch.manual_seed(0)
    model = build_model(MODEL).eval()
    image = read_rgb(next((tiny_dataset / "images").glob("val_*.png")))
    monkeypatch.setenv(device_module.FORCE_CUDA_PATHS, "0")
    seg32, ca32 = predict_probs(device_module.place_model(copy.deepcopy(model), CPU), image, CPU, scales=[0.75, 1.0], flip=True)
    monkeypatch.setenv(device_module.FORCE_CUDA_PATHS, "1")
    with caplog.at_level(logging.INFO, logger="wsss_core.engine.device"):
        device_module.pick_device(1)
    assert "(CUDA code paths forced)" in caplog.text
    seg16, ca16 = predict_probs(device_module.place_model(copy.deepcopy(model), CPU), image, CPU, scales=[0.75, 1.0], flip=True)
    assert np.isfinite(seg16).all() and np.isfinite(ca16).all()
    assert np.abs(seg16 - seg32).max() < PROB_ATOL and np.abs(ca16 - ca32).max() < PROB_ATOL
    assert (seg16.argmax(0) == seg32.argmax(0)).mean() >= SAME_CLASS
