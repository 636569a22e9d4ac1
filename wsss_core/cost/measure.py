"""What one image costs a run: the networks' GPU FLOPs and memory (counted on the meta device), host seconds (timed here).

:func:`network_cost` builds a run's network on torch's ``meta`` device (no
weights, no memory) and counts with ``FlopCounterMode`` the FLOPs of one
training image at the crop size (forward and backward) and of the inference
passes at the run's image size and scales; the bytes of the tensors a
training step saves for backward (fp32; bf16 autocast stores about half of
them) and the largest activation of an inference pass. :func:`host_costs`
times the host work of one image on this machine: decoding, a training
sample, the 2-label CRF_d, the test-time CRF, label maps and prediction stores;
:func:`cpu_flop_seconds` the seconds per FLOP of the network on this CPU, for a
run whose GPU rules run here.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import cv2
import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from wsss_core.crf import DEEPLAB_CRF, CrfParams, crf_foreground, crf_labels
from wsss_core.data.transforms import augment, build_augmentation
from wsss_core.io import read_label_map, read_rgb, write_label_map
from wsss_core.models.multitask import build_model
from wsss_core.models.objectness import build_objectness_net
from wsss_core.models.sonet import build_sonet
from wsss_core.store import write_store


@dataclass(frozen=True)
class NetworkCost:
    """FLOPs and bytes of one network: per training image, per inference pass kind, and its memory."""

    train_flops: float  # per training image, forward and backward
    pass_flops: dict[str, float]  # per image and inference pass
    params_bytes: int  # parameters and buffers
    train_saved_bytes: int  # saved for backward, per training image (fp32)
    inference_peak_bytes: int  # the largest activation of an inference pass of one image


def _loss(outputs: Any) -> torch.Tensor:
    values = outputs.values() if isinstance(outputs, dict) else [outputs]
    return sum(value.float().mean() for value in values if value.requires_grad)


def _train_step(model: nn.Module, batch: int, crop: int) -> tuple[float, int]:
    """FLOPs and saved-for-backward bytes of one training step of ``batch`` crops on the meta device."""
    params = {id(p) for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if id(tensor) not in params:
            saved[id(tensor)] = tensor.numel() * tensor.element_size()
        return tensor

    model.train()
    with FlopCounterMode(display=False) as counter, torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _loss(model(torch.randn(batch, 3, crop, crop, device="meta"))).backward()
    return float(counter.get_total_flops()), sum(saved.values())


def _forward(model: nn.Module, size: tuple[int, int], call: Callable[[nn.Module, torch.Tensor], Any]) -> tuple[float, int]:
    """FLOPs and the largest activation (bytes) of one inference pass at ``size``."""
    largest = [0]

    def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            largest[0] = max(largest[0], output.numel() * output.element_size())

    hooks = [module.register_forward_hook(record) for module in model.modules() if not list(module.children())]
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            call(model, torch.randn(1, 3, *size, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return float(counter.get_total_flops()), largest[0]


def network_cost(
    network: str,
    config: Mapping[str, Any],
    num_classes: int,
    *,
    batch: int,
    crop: int,
    image_size: tuple[int, int],
    scales: Sequence[float],
    flip: bool,
) -> NetworkCost:
    """The cost of one of the run's networks: ``multitask`` (CTLR), ``sonet`` or ``objectness``.

    Inference passes (``pass_flops``): ``forward`` (scale 1), ``cams`` and
    ``refresh`` (the backbone with the classification / class-agnostic
    branch), ``predict`` (every scale, mirrored where ``flip``).
    """
    with torch.device("meta"):
        if network == "multitask":
            model_config = {**config["model"], "num_classes": num_classes}
            model: nn.Module = build_model(model_config, pretrained=False)
        elif network == "sonet":
            model = build_sonet({"num_classes": num_classes, "arch": config["sonet"]["arch"], "objectness_width": config["sonet"]["objectness_width"]}, pretrained=False)
        else:
            model = build_objectness_net(config["objectness"]["arch"])
    train_flops, saved = _train_step(model, batch, crop)
    branches = {"forward": None, "cams": ("cls",), "refresh": ("ca",)} if network == "multitask" else {"forward": None}

    def call(names: tuple[str, ...] | None) -> Callable[[nn.Module, torch.Tensor], Any]:
        return lambda net, x: net(x) if names is None else net(x, branches=names)

    passes, peak = {}, 0
    for name, names in branches.items():
        passes[name], largest = _forward(model, image_size, call(names))
        peak = max(peak, largest)
    predict = 0.0
    for scale in scales:
        size = (max(8, round(image_size[0] * scale)), max(8, round(image_size[1] * scale)))
        flops, largest = _forward(model, size, call(None))
        predict += flops * (2 if flip else 1)
        peak = max(peak, largest * (2 if flip else 1))
    passes["predict"] = predict
    params = sum(p.numel() * p.element_size() for p in model.parameters()) + sum(b.numel() * b.element_size() for b in model.buffers())
    return NetworkCost(train_flops / batch, passes, params, saved // batch, peak)


def cpu_flop_seconds(config: Mapping[str, Any], num_classes: int, threads: int) -> float:
    """Seconds per FLOP of the run's network training on this machine's CPU (``threads`` torch threads), as timed.

    One training step of the run's batch (at most 8 crops of at most 128 px)
    after a first one, on one thread, timed in CPU time and divided by
    ``threads`` (as if the threads shared the work evenly): other processes on
    a loaded machine stretch neither, where they stretch a multi-threaded step's
    wall time severalfold (torch's threads wait for each other). The FLOPs are
    counted on the same step.
    """
    crop, batch = min(128, int(config["train"]["crop_size"])), min(8, int(config["train"]["batch_size"]))
    model = build_model({**config["model"], "num_classes": num_classes}, pretrained=False).train()
    images = torch.randn(batch, 3, crop, crop)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        step = lambda: _loss(model(images)).backward()  # noqa: E731
        seconds = _seconds(step, 2) / max(1, threads)
        with FlopCounterMode(display=False) as counter:
            step()
    finally:
        torch.set_num_threads(previous)
    return seconds / float(counter.get_total_flops())


def _seconds(function: Callable[[], object], repeat: int) -> float:
    """CPU seconds of one call: the median of ``repeat`` calls after a first one (lazy initialisation aside).

    This process's CPU time (``time.process_time``, every thread's), which other
    processes on a loaded machine do not stretch as they stretch the wall clock.
    """
    function()
    times = []
    for _ in range(repeat):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return float(np.median(times))


def _blobs(shape: tuple[int, int], count: int) -> np.ndarray:
    """(count, H, W) smooth probabilities: a background and count - 1 elliptic objects."""
    height, width = shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    maps = [np.ones(shape, np.float32) * 0.5]
    for k in range(1, count):
        cy, cx = height * (0.3 + 0.4 * k / count), width * (0.25 + 0.5 * k / count)
        maps.append(np.exp(-(((ys - cy) / (0.2 * height)) ** 2 + ((xs - cx) / (0.2 * width)) ** 2)) * 4.0)
    logits = np.stack(maps)
    probs = np.exp(logits - logits.max(axis=0))
    return probs / probs.sum(axis=0)


def host_costs(image: np.ndarray, config: Mapping[str, Any], num_labels: int) -> dict[str, float]:
    """Seconds of one core per image of the host work, timed on ``image`` (H,W,3) with the run's settings."""
    shape = image.shape[:2]
    probs = _blobs(shape, 3)
    full = np.zeros((num_labels, *shape), np.float32)
    full[:3] = probs
    mask = probs.argmax(axis=0).astype(np.uint8)
    train = config["train"]
    transform = build_augmentation(
        crop_size=train["crop_size"], scale_range=train["scale_range"], hflip=train["hflip"], color_jitter=train["color_jitter"],
        pad_label=train["pad_label"],
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        photo, labels = Path(tmp) / "photo.jpg", Path(tmp) / "labels.png"
        cv2.imwrite(str(photo), image[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
        write_label_map(labels, mask)

        def store() -> None:
            with write_store(Path(tmp) / "store.h5") as writer:
                writer.add("a", {"seg_ms": full.astype(np.float16), "ca_ms": probs[1].astype(np.float16)}, channels={"seg_ms": np.arange(3)})

        return {
            "decode": _seconds(lambda: read_rgb(photo), 5),
            "label_map": _seconds(lambda: read_label_map(labels), 5),
            "png": _seconds(lambda: write_label_map(Path(tmp) / "out.png", mask), 5),
            "train_sample": _seconds(lambda: augment(transform, read_rgb(photo), [read_label_map(labels)] * 2, (0, 0, 0)), 9),
            "crf2": _seconds(lambda: crf_foreground(image, probs[1], CrfParams()), 3),
            "crf_labels": _seconds(lambda: crf_labels(image, full, DEEPLAB_CRF, label_epsilon=config["crf"]["label_epsilon"]), 3),
            "store": _seconds(store, 3),
        }
