"""The compute device of a stage: threads, placement (channels-last), mixed precision, pinned transfers.

What differs on CUDA (bf16 autocast, channels-last tensors, pinned host
memory, loss checks every :data:`wsss_core.engine.fit.CHECK_EVERY` steps) is
decided by :func:`cuda_paths`. Setting ``WSSS_FORCE_CUDA_PATHS=1`` takes
those branches on the CPU too (torch has bf16 autocast and channels-last
there), so that tests on machines without a GPU run the code a GPU run
executes.

Which device a stage takes is the run's ``device`` setting, passed in the
environment variable ``WSSS_DEVICE``: ``auto`` (CUDA when torch sees a GPU,
else the CPU), ``cuda`` (a GPU or a :class:`DeviceError` before any work) or
``cpu``.
"""

from __future__ import annotations

import logging
import os
import socket

import torch

from wsss_core.engine.errors import DeviceError

log = logging.getLogger(__name__)

FORCE_CUDA_PATHS = "WSSS_FORCE_CUDA_PATHS"
DEVICE_ENV = "WSSS_DEVICE"
# "1": deterministic algorithms on CUDA (config key ``deterministic``), see :func:`set_deterministic`
DETERMINISTIC_ENV = "WSSS_DETERMINISTIC"
DEVICE_CHOICES = ("auto", "cuda", "cpu")


def cuda_paths(device: torch.device) -> bool:
    """Whether work on ``device`` takes the CUDA branches: on CUDA, or on any device with ``WSSS_FORCE_CUDA_PATHS=1``."""
    return device.type == "cuda" or os.environ.get(FORCE_CUDA_PATHS) == "1"


def device_choice(choice: str | None = None) -> str:
    """``choice``, else the run's ``WSSS_DEVICE`` (default ``auto``), checked against :data:`DEVICE_CHOICES`."""
    choice = choice or os.environ.get(DEVICE_ENV) or "auto"
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, not {choice!r}")
    return choice


def device_problem(choice: str) -> str | None:
    """Why device ``choice`` cannot be had on this machine, in one line; None when it can."""
    if device_choice(choice) != "cuda" or torch.cuda.is_available():
        return None
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU-only build"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    shown = "" if visible is None else f", CUDA_VISIBLE_DEVICES={visible!r}"
    return (
        f"device: cuda, but torch {torch.__version__} ({build}{shown}) sees no GPU on {socket.gethostname()}: "
        "check the driver against the torch build, or set device: auto to run on the CPU"
    )


def describe_device(device: torch.device) -> str:
    """One line on ``device``: the GPU's name, memory and bf16 support, torch's and CUDA's versions; or the CPU's threads."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        properties = torch.cuda.get_device_properties(index)
        bf16 = "bf16" if torch.cuda.is_bf16_supported() else "no bf16"
        return (
            f"cuda:{index} {properties.name}, {properties.total_memory / 2**30:.1f} GiB, {bf16} "
            f"(torch {torch.__version__}, CUDA {torch.version.cuda})"
        )
    forced = " (CUDA code paths forced)" if cuda_paths(device) else ""
    return f"cpu{forced}, {torch.get_num_threads()} threads (torch {torch.__version__}, no GPU used)"


def pick_device(threads: int | None = None, choice: str | None = None) -> torch.device:
    """The device of a stage (``choice``, else the run's :func:`device_choice`); ``threads`` bounds torch's CPU threads.

    ``auto`` takes CUDA when torch sees a GPU; ``cuda`` without one raises a
    :class:`DeviceError` (:func:`device_problem`) before any work. On CUDA,
    cuDNN picks the fastest convolution algorithms for the input sizes it sees,
    unless the run asks for determinism (``WSSS_DETERMINISTIC=1``: :func:`set_deterministic`).
    """
    choice = device_choice(choice)
    problem = device_problem(choice)
    if problem is not None:
        raise DeviceError(problem)
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    device = torch.device("cuda" if choice != "cpu" and torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        if os.environ.get(DETERMINISTIC_ENV) == "1":
            set_deterministic()
        else:
            torch.backends.cudnn.benchmark = True
    log.info("device: %s", describe_device(device))
    return device


def set_deterministic() -> None:
    """Deterministic CUDA: torch's deterministic algorithms, cuDNN's deterministic convolutions without
    benchmarking, and the cuBLAS workspace they need. An op without a deterministic CUDA kernel
    (bilinear upsampling's backward pass) warns once and stays nondeterministic (``warn_only``)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    log.info("deterministic algorithms on (config deterministic: true)")


def place_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move ``model`` to ``device``; on CUDA (:func:`cuda_paths`) also to the channels-last memory format."""
    model.to(device)
    if cuda_paths(device):
        model.to(memory_format=torch.channels_last)
    return model


def place_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a (B,3,H,W) batch to ``device``; channels-last on CUDA to match :func:`place_model`."""
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if cuda_paths(device) else images


def mixed_precision(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA (:func:`cuda_paths`); a disabled autocast (full fp32) otherwise."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda_paths(device))


def pin_memory(device: torch.device) -> bool:
    """Whether host batches for ``device`` are put in pinned memory (CUDA: asynchronous copies).

    Forced on the CPU, the data loader is asked for pinned memory too; torch
    pins only where an accelerator exists, and warns otherwise.
    """
    return cuda_paths(device)
