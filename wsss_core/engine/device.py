"""The compute device of a stage: threads, placement (channels-last), mixed precision, pinned transfers.

What differs on CUDA (bf16 autocast, channels-last tensors, pinned host
memory, loss checks every :data:`wsss_core.engine.fit.CHECK_EVERY` steps) is
decided by :func:`cuda_paths`. Setting ``WSSS_FORCE_CUDA_PATHS=1`` takes
those branches on the CPU too (torch has bf16 autocast and channels-last
there), so that tests on machines without a GPU run the code a GPU run
executes.
"""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)

FORCE_CUDA_PATHS = "WSSS_FORCE_CUDA_PATHS"


def cuda_paths(device: torch.device) -> bool:
    """Whether work on ``device`` takes the CUDA branches: on CUDA, or on any device with ``WSSS_FORCE_CUDA_PATHS=1``."""
    return device.type == "cuda" or os.environ.get(FORCE_CUDA_PATHS) == "1"


def pick_device(threads: int | None = None) -> torch.device:
    """CUDA when present, CPU otherwise; ``threads`` bounds torch's intra-op CPU threads.

    On CUDA, cuDNN picks the fastest convolution algorithms for the input sizes it sees.
    """
    if threads:
        torch.set_num_threads(max(1, int(threads)))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    forced = " (CUDA code paths forced)" if device.type != "cuda" and cuda_paths(device) else ""
    log.info("device: %s%s (torch %s, %d CPU threads)", device, forced, torch.__version__, torch.get_num_threads())
    return device


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
