"""The compute device of a stage: threads, placement (channels-last), mixed precision, pinned transfers."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


def pick_device(threads: int | None = None) -> torch.device:
    """CUDA when present, CPU otherwise; ``threads`` bounds torch's intra-op CPU threads.

    On CUDA, cuDNN picks the fastest convolution algorithms for the input sizes it sees.
    """
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    log.info("device: %s (torch %s, %d CPU threads)", device, torch.__version__, torch.get_num_threads())
    return device


def place_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Move ``model`` to ``device``; on CUDA also to the channels-last memory format."""
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    return model


def place_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a (B,3,H,W) batch to ``device``; channels-last on CUDA to match :func:`place_model`."""
    images = images.to(device, non_blocking=True)
    return images.contiguous(memory_format=torch.channels_last) if device.type == "cuda" else images


def mixed_precision(device: torch.device) -> torch.autocast:
    """bf16 autocast on CUDA; a disabled autocast (full fp32) on the CPU."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def pin_memory(device: torch.device) -> bool:
    """Whether host batches for ``device`` are put in pinned memory (CUDA: asynchronous copies)."""
    return device.type == "cuda"
