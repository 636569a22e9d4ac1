"""The training loop every stage shares: SGD with poly learning rate, resume state, per-epoch log, DDP.

Every epoch leaves a resume state next to the output checkpoint; a stage
re-run with the same inputs and settings continues after the last finished
epoch. A per-epoch CSV records the mean losses.

Under torchrun (:func:`wsss_core.engine.distributed.run_training` with
``gpus > 1``) :func:`fit` trains with DistributedDataParallel: each of the N
processes takes ``batch_size / N`` images of every batch, so the effective
batch, the iterations per epoch and the poly schedule are those of one
process; rank 0 writes the checkpoint, the resume state and the CSV.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from wsss_core.engine import distributed
from wsss_core.engine.config import TrainConfig
from wsss_core.engine.device import cuda_paths, mixed_precision, pick_device, pin_memory, place_images, place_model
from wsss_core.engine.optim import build_optimizer, poly_schedule
from wsss_core.engine.resume import load_resume_state, resume_path
from wsss_core.engine.sampling import EpochSampler
from wsss_core.io import atomic_path
from wsss_core.logs import Progress
from wsss_core.models.checkpoint import save_checkpoint, save_torch, state_dict_cpu

log = logging.getLogger(__name__)

LossFunction = Callable[[nn.Module, Tensor, dict[str, Tensor]], dict[str, Tensor]]

CHECK_EVERY = 25  # steps between host syncs on CUDA (finite-loss check, progress bar)


def total_loss(losses: dict[str, Tensor]) -> Tensor:
    """The sum of the named loss terms (Eq. 8 of CTLR, Eq. 5 of SONet)."""
    return torch.stack(list(losses.values())).sum()


def start_stage(train_config: dict[str, Any], threads: int | None) -> tuple[TrainConfig, torch.device]:
    """The settings of a training stage and its device (:func:`pick_device`); seeds torch with the stage's seed."""
    config = TrainConfig.from_config(train_config)
    torch.manual_seed(config.seed)
    return config, pick_device(threads)


def _per_process_batch(stage: str, batch_size: int, num_samples: int, world: int) -> int:
    """The batch size of one step (``batch_size``, at most the dataset), checked to divide among the ranks."""
    batch = min(batch_size, num_samples)
    if batch % world:
        clipped = f" (batch_size {batch_size} clipped to the {num_samples} samples)" if batch < batch_size else ""
        raise ValueError(
            f"{stage}: batch_size {batch}{clipped} is not divisible by the {world} training processes; "
            f"use a batch size that is a multiple of train_gpus"
        )
    return batch


def _write_history(history: list[dict[str, float]], log_csv: Path) -> None:
    with atomic_path(log_csv) as tmp:
        pd.DataFrame(history).to_csv(tmp, index=False)


def loader_workers(num_workers: int | str, device: torch.device) -> int:
    """DataLoader worker processes: a number, or ``auto``.

    ``auto`` is the stage's CPU threads (torch's, set by :func:`pick_device`) on
    CUDA, where the CPU only loads data; 0 on the CPU, where the network's
    threads already use every core (the 2-core demo trains 4 % faster without
    workers, see BENCHMARKS.md).
    """
    if num_workers == "auto":
        return torch.get_num_threads() if device.type == "cuda" else 0
    return int(num_workers)


class _Run:
    """The state of one :func:`fit` call: network, optimiser, schedule, the data loader and what it writes."""

    def __init__(self, model: nn.Module, dataset: Dataset, config: TrainConfig, device: torch.device, stage: str) -> None:
        world = distributed.world_size()
        self.model, self.config, self.device, self.stage = model, config, device, stage
        self.batch_size = _per_process_batch(stage, config.batch_size, len(dataset), world)
        self.iterations_per_epoch = len(dataset) // self.batch_size
        place_model(model, device)
        self.optimizer = build_optimizer(model, config)
        self.schedule = poly_schedule(self.optimizer, config.epochs * self.iterations_per_epoch, config.poly_power)
        self.network = distributed.wrap(model, device) if distributed.is_distributed() else model
        self.sampler = EpochSampler(len(dataset), config.seed, distributed.rank(), world)
        workers = loader_workers(config.num_workers, device)
        self.loader = DataLoader(
            dataset,
            batch_size=self.batch_size // world,
            sampler=self.sampler,
            drop_last=True,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=pin_memory(device),
        )
        # a host sync per step costs GPU time: on CUDA losses are checked and logged every CHECK_EVERY steps
        self.check_every = CHECK_EVERY if cuda_paths(device) else 1

    def restore(self, state: dict) -> tuple[list[dict[str, float]], int]:
        """Load a resume state; the history so far and the epoch to continue after."""
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        return list(state["history"]), int(state["epoch"])

    def state(self, run_fingerprint: str, epoch: int, history: list[dict[str, float]]) -> dict:
        """The resume state after ``epoch``."""
        return {
            "fingerprint": run_fingerprint,
            "epoch": epoch,
            "state_dict": state_dict_cpu(self.model),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "history": history,
        }

    def _step(self, batch: dict, losses: LossFunction) -> dict[str, Tensor]:
        """One SGD step on ``batch``; the detached loss terms and their sum (on the device)."""
        images = place_images(batch.pop("image"), self.device)
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        with mixed_precision(self.device):
            terms = losses(self.network, images, batch)
            loss = total_loss(terms)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step()
        return {key: value.detach() for key, value in {**terms, "loss": loss}.items()}

    def _check(self, recent: list[tuple[int, list[str], dict[str, Tensor]]], epoch: int) -> None:
        """Raise :class:`FloatingPointError` at the first of the ``recent`` steps whose loss is not finite."""
        finite = torch.stack([torch.isfinite(terms["loss"]) for _, _, terms in recent]).tolist()
        for (step, ids, terms), ok in zip(recent, finite):
            if not ok:
                shown = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
                raise FloatingPointError(
                    f"{self.stage}: loss became {float(terms['loss'])} at epoch {epoch + 1}, step {step} "
                    f"(iteration {epoch * self.iterations_per_epoch + step}); images of the batch: {shown}. "
                    "Lower train.lr (or the stage's lr) or check these images"
                )

    def train_epoch(self, epoch: int, losses: LossFunction) -> dict[str, float]:
        """One epoch of SGD steps; the row of the per-epoch log (mean losses, last learning rate, seconds)."""
        self.model.train()
        self.sampler.set_epoch(epoch)
        sums: dict[str, Tensor] = {}
        recent: list[tuple[int, list[str], dict[str, Tensor]]] = []
        started = time.monotonic()
        desc = f"{self.stage} epoch {epoch + 1}/{self.config.epochs}"
        tracker = Progress(len(self.loader), desc, unit="batch", enabled=distributed.is_main_process())
        lr = self.optimizer.param_groups[0]["lr"]
        for step, batch in enumerate(self.loader):
            ids = list(batch.pop("image_id", []))
            lr = self.optimizer.param_groups[0]["lr"]
            terms = self._step(batch, losses)
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.double()
            recent.append((step, ids, terms))
            if len(recent) == self.check_every:
                self._check(recent, epoch)
                tracker.set_note(f"loss={float(recent[-1][2]['loss']):.3f}")
                recent = []
            tracker.update()
        tracker.close()
        if recent:
            self._check(recent, epoch)
        totals = {key: float(value) for key, value in sums.items()}
        if distributed.is_distributed():
            totals = distributed.reduce_mean(totals, self.device)
            distributed.broadcast_buffers(self.model)
        row = {"epoch": epoch + 1, **{key: value / self.iterations_per_epoch for key, value in totals.items()}}
        row.update(lr=lr, seconds=round(time.monotonic() - started, 2))
        return row


def fit(
    model: nn.Module,
    dataset: Dataset,
    config: TrainConfig,
    device: torch.device,
    *,
    stage: str,
    losses: LossFunction,
    output_checkpoint: Path,
    log_csv: Path,
    fingerprint: str,
    on_resume: Callable[[int], None] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
) -> None:
    """SGD with poly learning rate over ``config.epochs`` epochs, minimising the sum of ``losses``.

    ``dataset[(epoch, index)]`` is a dict with an ``image`` tensor, the
    ``image_id`` and the targets (the epoch selects the augmentation draws);
    ``losses(model, images, batch)`` returns the named loss terms. The data
    loader lives for the whole stage (``train.num_workers`` processes,
    pinned memory on CUDA); losses are summed on the device. ``model`` carries a ``model_config`` dict
    that is saved with its weights. On CUDA the forward pass and losses run
    under bf16 autocast with channels-last tensors. After every epoch a
    resume state is written next to ``output_checkpoint``; a state with the
    same ``fingerprint`` is resumed from.

    In a process group (:mod:`wsss_core.engine.distributed`) ``losses`` gets
    the DistributedDataParallel wrapper of ``model``; the sampler
    gives each of the N ranks ``batch_size / N`` images of every batch (a
    ValueError when it is not divisible), so the effective batch, the
    iterations per epoch and the poly schedule are those of one process.
    The logged losses are averaged over the ranks. Rank 0 alone writes the
    resume state, the CSV and the checkpoint (the unwrapped network's state
    dict) and runs ``on_resume`` / ``on_epoch_end`` (they write files the
    dataset reads; the log's ``epoch_end_seconds`` is the time spent in
    ``on_epoch_end``); the other ranks wait for it.
    """
    run = _Run(model, dataset, config, device, stage)
    main_process = distributed.is_main_process()
    state_path = resume_path(output_checkpoint)
    history: list[dict[str, float]] = []
    start_epoch = 0
    state = load_resume_state(state_path, fingerprint, device, stage)
    if state is not None:
        history, start_epoch = run.restore(state)
        if on_resume is not None:
            if main_process:
                on_resume(start_epoch)
            distributed.barrier()
    for epoch in range(start_epoch, config.epochs):
        history.append(run.train_epoch(epoch, losses))
        log.info("%s: %s", stage, ", ".join(f"{k}={v:.4g}" for k, v in history[-1].items()))
        if main_process:
            if on_epoch_end is not None:
                started = time.monotonic()
                on_epoch_end(epoch + 1)
                history[-1]["epoch_end_seconds"] = round(time.monotonic() - started, 2)
            save_torch(run.state(fingerprint, epoch + 1, history), state_path)
            _write_history(history, log_csv)
        distributed.barrier()
    if main_process:
        _write_history(history, log_csv)
        save_checkpoint(output_checkpoint, model, stage=stage, epochs=config.epochs)
        state_path.unlink(missing_ok=True)
        log.info("%s: wrote %s", stage, output_checkpoint)
    distributed.barrier()
