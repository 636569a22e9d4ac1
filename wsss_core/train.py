"""Training stages of Fig. 5: the classification branch alone, then the whole network.

* :func:`train_classifier` (Fig. 5a): backbone + classification branch with
  L_cls; the class-agnostic and semantic branches are frozen.
* :func:`train_multitask` (Fig. 5b and 5d): all three branches with
  L_cls + L_ca + L_seg (Eq. 8). The class-agnostic labels start as the
  binarised prior map (the saliency map Pt_sal, or G_ca^ref when retraining)
  and, every ``ca_refresh_every`` epochs, are replaced by
  CRF_d((Pr_ca + prior) / 2) computed from the current network (Eq. 4).

Every epoch leaves a resume state next to the output checkpoint; a stage
re-run with the same inputs and settings continues after the last finished
epoch. A per-epoch CSV records the mean losses.

Under torchrun (:func:`wsss_core.distributed.run_training` with ``gpus > 1``)
:func:`fit` trains with DistributedDataParallel: each of the N processes takes
``batch_size / N`` images of every batch, so the effective batch, the
iterations per epoch and the poly schedule are those of one process; rank 0
writes the checkpoint, the resume state and the CSV.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from wsss_core import distributed
from wsss_core.crf import CrfParams
from wsss_core.data.dataset import DatasetIndex, load_index
from wsss_core.data.transforms import augment, build_augmentation, network_input, to_tensor
from wsss_core.device import mixed_precision, pick_device, place_images, place_model
from wsss_core.io import (
    IGNORE_LABEL,
    InputError,
    atomic_path,
    read_gray,
    read_image_size,
    read_label_map,
    read_rgb,
    write_gray,
)
from wsss_core.labels import read_foreground
from wsss_core.losses import class_agnostic_loss, classification_loss, segmentation_loss, total_loss
from wsss_core.models import MultiTaskNet, build_model, load_model
from wsss_core.models.multitask import BRANCHES
from wsss_core.models.sonet import build_sonet
from wsss_core.parallel import map_images
from wsss_core.refine import class_agnostic_labels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser, schedule and augmentation of one training stage."""

    epochs: int
    batch_size: int
    lr: float
    head_lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    crop_size: int = 321
    scale_range: tuple[float, float] = (0.7, 1.3)
    hflip: bool = True
    color_jitter: float = 0.3
    num_workers: int = 0
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> "TrainConfig":
        """Build from a config mapping; unknown keys are an error."""
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}")
        values = dict(section)
        if "scale_range" in values:
            values["scale_range"] = tuple(float(v) for v in values["scale_range"])
        return cls(**values)


class AugmentedDataset(Dataset):
    """Base of the training datasets: the joint augmentation of a :class:`TrainConfig`.

    The draws depend on (seed, epoch, sample index) only, so an epoch is
    reproducible and a resumed run repeats what an uninterrupted one did.
    """

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.epoch = 0
        self.transform = build_augmentation(
            crop_size=config.crop_size,
            scale_range=config.scale_range,
            hflip=config.hflip,
            color_jitter=config.color_jitter,
        )

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of ``epoch``."""
        self.epoch = epoch

    def augment(self, image: np.ndarray, maps: list[np.ndarray], item: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Augment ``image`` and its label ``maps`` jointly with the draws of sample ``item``."""
        return augment(self.transform, image, maps, seed=(self.config.seed, self.epoch, item))


class WeakLabelDataset(AugmentedDataset):
    """Training samples: augmented image, image labels and, when given, label maps.

    The maps are the pseudo labels of ``seg_label_dir`` / ``ca_label_dir``
    (0-255 maps, object where value / 255 > ``ca_threshold``) or,
    with ``ground_truth`` (the fully supervised baseline), the ground-truth
    mask and its object / background reduction.
    """

    def __init__(
        self,
        index: DatasetIndex,
        ids: Sequence[str],
        config: TrainConfig,
        seg_label_dir: Path | None = None,
        ca_label_dir: Path | None = None,
        ground_truth: bool = False,
        ca_threshold: float = 0.5,
    ) -> None:
        super().__init__(config)
        self.index = index
        self.ids = list(ids)
        self.seg_label_dir = seg_label_dir
        self.ca_label_dir = ca_label_dir
        self.ground_truth = ground_truth
        self.ca_threshold = ca_threshold

    def __len__(self) -> int:
        return len(self.ids)

    def _read_map(self, path: Path, shape: tuple[int, ...], reader: Callable[[Path], np.ndarray]) -> np.ndarray:
        values = reader(path)
        if values.shape != shape:
            raise InputError(f"{path}: map is {values.shape[1]}x{values.shape[0]}, its image is {shape[1]}x{shape[0]}")
        return values

    def __getitem__(self, item: int) -> dict[str, Tensor]:
        image_id = self.ids[item]
        image = read_rgb(self.index.image_path(image_id))
        maps = []
        if self.ground_truth:
            mask = self._read_map(self.index.mask_path(image_id), image.shape[:2], read_label_map)
            maps += [mask, np.where(mask == IGNORE_LABEL, IGNORE_LABEL, mask > 0).astype(np.uint8)]
        if self.seg_label_dir is not None:
            maps.append(self._read_map(self.seg_label_dir / f"{image_id}.png", image.shape[:2], read_label_map))
        if self.ca_label_dir is not None:
            ca = self._read_map(self.ca_label_dir / f"{image_id}.png", image.shape[:2], read_gray)
            maps.append((ca.astype(np.float32) / 255.0 > self.ca_threshold).astype(np.uint8))
        image, maps = self.augment(image, maps, item)
        sample = {"image": to_tensor(image), "image_labels": torch.from_numpy(self.index.multi_hot(image_id))}
        if self.ground_truth or self.seg_label_dir is not None:
            sample["seg_labels"] = torch.from_numpy(maps.pop(0))
        if self.ground_truth or self.ca_label_dir is not None:
            sample["ca_labels"] = torch.from_numpy(maps.pop(0))
        return sample


def fingerprint(stage: str, settings: dict[str, Any], inputs: Sequence[str | Path]) -> str:
    """Identify a training run by its settings and the identity of its input files."""
    stamps = []
    for path in inputs:
        path = Path(path)
        stamps.append([str(path), path.stat().st_mtime_ns if path.exists() else None])
    blob = json.dumps({"stage": stage, "settings": settings, "inputs": stamps}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _resume_path(output_checkpoint: Path) -> Path:
    return output_checkpoint.with_name(output_checkpoint.name + ".resume")


def _save(state: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def _state_dict_cpu(model: nn.Module) -> dict[str, Tensor]:
    return {key: value.detach().cpu() for key, value in model.state_dict().items()}


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with the ``backbone`` submodule at ``lr`` and everything else at ``lr * head_lr_mult``."""
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    heads = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("backbone.")]
    groups = [{"params": backbone, "lr": config.lr, "base_lr": config.lr}]
    if heads:
        head_lr = config.lr * config.head_lr_mult
        groups.append({"params": heads, "lr": head_lr, "base_lr": head_lr})
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


LossFunction = Callable[[nn.Module, Tensor, dict[str, Tensor]], dict[str, Tensor]]


def _data_parallel(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel (rank 0's weights are broadcast to every rank).

    On CUDA its batch norms become SyncBatchNorm first, so the statistics are
    those of the whole batch; torch's SyncBatchNorm rejects CPU tensors in
    training, so on the CPU (gloo, the tests) every rank normalises with the
    statistics of its own share. The swap keeps parameters, buffers and state
    dict keys, and happens in place: ``model`` keeps being the unwrapped network.
    """
    if device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(model)
    # static_graph: every step of a stage runs the same branches, so the set of parameters
    # taking part in the loss never changes. Frozen branches have requires_grad=False and
    # are not registered with DDP at all, and today every trainable parameter of every
    # network reaches the loss; static_graph keeps DDP correct should a network have
    # trainable parameters it never uses (the default fails at the second step then),
    # without the per-step autograd-graph search of find_unused_parameters=True.
    return DistributedDataParallel(
        model, device_ids=[torch.cuda.current_device()] if device.type == "cuda" else None, static_graph=True
    )


def _reduce_mean(sums: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average the per-rank values of ``sums`` (same keys, same order on every rank) over the ranks."""
    keys = list(sums)
    values = torch.tensor([sums[key] for key in keys], dtype=torch.float64, device=device)
    torch.distributed.all_reduce(values)
    return dict(zip(keys, (values / distributed.world_size()).tolist()))


def _broadcast_buffers(model: nn.Module) -> None:
    """Give every rank rank 0's buffers (batch-norm statistics), as DDP does before each forward.

    After an epoch all ranks then hold exactly the network rank 0 saves.
    """
    for buffer in model.buffers():
        torch.distributed.broadcast(buffer, src=0)


def multitask_losses(model: nn.Module, images: Tensor, batch: dict[str, Tensor], branches: Sequence[str]) -> dict[str, Tensor]:
    """Eq. 9-11 for the ``branches`` trained in a stage (their sum is Eq. 8)."""
    out = model(images, branches=branches)
    losses = {"loss_cls": classification_loss(out["cls_logits"], batch["image_labels"])}
    if "ca" in branches:
        losses["loss_ca"] = class_agnostic_loss(out["ca_logits"], batch["ca_labels"])
    if "seg" in branches:
        losses["loss_seg"] = segmentation_loss(out["seg_logits"], batch["seg_labels"])
    return losses


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

    ``dataset`` yields dicts with an ``image`` tensor (and a ``set_epoch``
    method for per-epoch augmentation draws); ``losses(model, images, batch)``
    returns the named loss terms. ``model`` carries a ``model_config`` dict
    that is saved with its weights. On CUDA the forward pass and losses run
    under bf16 autocast with channels-last tensors. After every epoch a
    resume state is written next to ``output_checkpoint``; a state with the
    same ``fingerprint`` is resumed from.

    In a process group (:mod:`wsss_core.distributed`) ``losses`` gets the
    DistributedDataParallel wrapper of ``model``; a DistributedSampler gives
    each of the N ranks ``batch_size / N`` images of every batch (a
    ValueError when it is not divisible), so the effective batch, the
    iterations per epoch and the poly schedule are those of one process.
    The logged losses are averaged over the ranks. Rank 0 alone writes the
    resume state, the CSV and the checkpoint (the unwrapped network's state
    dict) and runs ``on_resume`` / ``on_epoch_end`` (they write files the
    dataset reads); the other ranks wait for it.
    """
    world = distributed.world_size()
    batch_size = min(config.batch_size, len(dataset))
    if batch_size % world:
        clipped = ""
        if batch_size < config.batch_size:
            clipped = f" (batch_size {config.batch_size} clipped to the {len(dataset)} samples)"
        raise ValueError(
            f"{stage}: batch_size {batch_size}{clipped} is not divisible by the {world} training processes; "
            f"use a batch size that is a multiple of train_gpus"
        )
    main_process = distributed.is_main_process()
    place_model(model, device)
    optimizer = _optimizer(model, config)
    resume_path = _resume_path(output_checkpoint)
    history: list[dict[str, float]] = []
    start_epoch = 0
    if resume_path.exists():
        state = torch.load(resume_path, map_location=device, weights_only=True)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["state_dict"])
            optimizer.load_state_dict(state["optimizer"])
            history = list(state["history"])
            start_epoch = int(state["epoch"])
            log.info("%s: resuming from %s after epoch %d", stage, resume_path, start_epoch)
            if on_resume is not None:
                if main_process:
                    on_resume(start_epoch)
                distributed.barrier()
        else:
            log.info("%s: ignoring %s (written for other inputs or settings)", stage, resume_path)

    network, sampler = model, None
    if distributed.is_distributed():
        network = _data_parallel(model, device)
        sampler = DistributedSampler(dataset, shuffle=True, seed=config.seed, drop_last=True)
    iterations_per_epoch = len(dataset) // batch_size
    max_iterations = config.epochs * iterations_per_epoch
    for epoch in range(start_epoch, config.epochs):
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader = DataLoader(
            dataset,
            batch_size=batch_size // world,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=True,
            num_workers=config.num_workers,
            generator=torch.Generator().manual_seed(config.seed * 1000 + epoch),
        )
        model.train()
        sums: dict[str, float] = {}
        started = time.monotonic()
        progress = tqdm(
            loader,
            desc=f"{stage} epoch {epoch + 1}/{config.epochs}",
            unit="batch",
            mininterval=2.0,
            disable=not main_process,
        )
        for step, batch in enumerate(progress):
            iteration = epoch * iterations_per_epoch + step
            factor = (1.0 - iteration / max_iterations) ** config.poly_power
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            images = place_images(batch.pop("image"), device)
            batch = {key: value.to(device, non_blocking=True) for key, value in batch.items()}
            with mixed_precision(device):
                terms = losses(network, images, batch)
                loss = total_loss(terms)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{stage}: loss became {loss.item()} at epoch {epoch + 1}, step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in {**terms, "loss": loss}.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            progress.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if distributed.is_distributed():
            sums = _reduce_mean(sums, device)
            _broadcast_buffers(model)
        row = {"epoch": epoch + 1, **{key: value / iterations_per_epoch for key, value in sums.items()}}
        row.update(lr=optimizer.param_groups[0]["lr"], seconds=round(time.monotonic() - started, 2))
        history.append(row)
        log.info("%s: %s", stage, ", ".join(f"{k}={v:.4g}" for k, v in row.items()))
        if main_process:
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1)
            _save(
                {
                    "fingerprint": fingerprint,
                    "epoch": epoch + 1,
                    "state_dict": _state_dict_cpu(model),
                    "optimizer": optimizer.state_dict(),
                    "history": history,
                },
                resume_path,
            )
            with atomic_path(log_csv) as tmp:
                pd.DataFrame(history).to_csv(tmp, index=False)
        distributed.barrier()

    if main_process:
        with atomic_path(log_csv) as tmp:
            pd.DataFrame(history).to_csv(tmp, index=False)
        _save(
            {
                "model_config": model.model_config,
                "state_dict": _state_dict_cpu(model),
                "stage": stage,
                "epochs": config.epochs,
            },
            output_checkpoint,
        )
        resume_path.unlink(missing_ok=True)
        log.info("%s: wrote %s", stage, output_checkpoint)
    distributed.barrier()


def _train_new_model(
    stage: str,
    dataset_root: str | Path,
    split: str,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None,
    branches: Sequence[str],
    ground_truth: bool,
) -> None:
    """Train a freshly built network on ``branches``; the other branches are frozen."""
    config = TrainConfig.from_config(train_config)
    torch.manual_seed(config.seed)
    device = pick_device(threads)
    index = load_index(dataset_root)
    model = build_model({**model_config, "num_classes": index.num_classes})
    for branch in set(BRANCHES) - set(branches):
        for module in model.branch_modules(branch):
            module.requires_grad_(False)
    dataset = WeakLabelDataset(index, index.ids(split), config, ground_truth=ground_truth)
    settings = {**asdict(config), "model": model_config}
    run_id = fingerprint(stage, settings, [Path(dataset_root) / "image_labels.csv"])
    fit(
        model,
        dataset,
        config,
        device,
        stage=stage,
        losses=functools.partial(multitask_losses, branches=branches),
        output_checkpoint=Path(output_checkpoint),
        log_csv=Path(log_csv),
        fingerprint=run_id,
    )


def train_classifier(
    dataset_root: str | Path,
    split: str,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None = None,
) -> None:
    """Fig. 5a: train the backbone and classification branch with L_cls (Eq. 9), other branches frozen."""
    _train_new_model(
        "classifier",
        dataset_root,
        split,
        output_checkpoint,
        log_csv,
        model_config=model_config,
        train_config=train_config,
        threads=threads,
        branches=("cls",),
        ground_truth=False,
    )


@torch.no_grad()
def _ca_probabilities(
    model: MultiTaskNet,
    index: DatasetIndex,
    ids: Sequence[str],
    prior_dir: Path,
    device: torch.device,
    max_side: int | None,
) -> Iterator[tuple[str, np.ndarray, np.ndarray, Path]]:
    for image_id in ids:
        image = read_rgb(index.image_path(image_id))
        images = network_input(image, max_side)
        with mixed_precision(device):
            logits = model(place_images(images, device), branches=("ca",))["ca_logits"]
        ca_prob = torch.sigmoid(F.interpolate(logits.float(), size=image.shape[:2], mode="bilinear", align_corners=False))
        yield image_id, image, ca_prob[0, 0].float().cpu().numpy(), prior_dir / f"{image_id}.png"


def _write_online_ca_label(item: tuple[str, np.ndarray, np.ndarray, Path], output_dir: Path, crf: CrfParams) -> None:
    image_id, image, ca_prob, prior_path = item
    prior = read_foreground(prior_path, ca_prob.shape)
    write_gray(output_dir / f"{image_id}.png", class_agnostic_labels(image, ca_prob, prior, crf) * np.uint8(255))


def refresh_ca_labels(
    model: MultiTaskNet,
    index: DatasetIndex,
    ids: Sequence[str],
    prior_dir: Path,
    output_dir: Path,
    *,
    crf: CrfParams,
    device: torch.device,
    max_side: int | None = None,
    workers: int = 1,
) -> None:
    """Eq. 4: G_ca = CRF_d((Pr_ca + prior) / 2) from the current network, for every id.

    Pr_ca is predicted single-scale on the image brought down to ``max_side``.
    """
    was_training = model.training
    model.eval()
    write = functools.partial(_write_online_ca_label, output_dir=output_dir, crf=crf)
    items = _ca_probabilities(model, index, ids, prior_dir, device, max_side)
    map_images(write, items, workers=workers, total=len(ids), desc="refresh G_ca")
    model.train(was_training)


def _binarise_prior(index: DatasetIndex, ids: Sequence[str], prior_dir: Path, output_dir: Path, threshold: float) -> None:
    """The class-agnostic labels before the first refresh: prior > ``threshold``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        image_shape = read_image_size(index.image_path(image_id))
        prior = read_foreground(prior_dir / f"{image_id}.png", image_shape)
        write_gray(output_dir / f"{image_id}.png", (prior > threshold).astype(np.uint8) * np.uint8(255))


def train_multitask(
    dataset_root: str | Path,
    split: str,
    init_checkpoint: str | Path,
    seg_label_dir: str | Path,
    ca_prior_dir: str | Path,
    output_checkpoint: str | Path,
    output_ca_label_dir: str | Path,
    log_csv: str | Path,
    *,
    train_config: dict[str, Any],
    crf: CrfParams,
    ca_prior_threshold: float,
    ca_refresh_every: int,
    max_side: int | None = None,
    threads: int | None = None,
    workers: int = 1,
) -> None:
    """Fig. 5b / 5d: train all branches with L_cls + L_ca + L_seg (Eq. 8-11).

    Starts from ``init_checkpoint``. Semantic labels G_seg are the PNGs of
    ``seg_label_dir``. Class-agnostic labels G_ca live in
    ``output_ca_label_dir`` (0/255 PNGs): first ``prior > ca_prior_threshold``
    for the prior maps of ``ca_prior_dir``, then, after every
    ``ca_refresh_every``-th epoch (0 = never), CRF_d((Pr_ca + prior) / 2)
    from the current network (Eq. 4). The directory ends holding the labels
    of the last epoch. Under torchrun rank 0 alone writes them (with the
    unwrapped network, see :func:`fit`) while the other ranks wait.
    """
    config = TrainConfig.from_config(train_config)
    torch.manual_seed(config.seed)
    device = pick_device(threads)
    index = load_index(dataset_root)
    ids = index.ids(split)
    model = load_model(init_checkpoint)
    place_model(model, device)
    prior_dir, ca_dir = Path(ca_prior_dir), Path(output_ca_label_dir)

    def refreshes_after(epoch: int) -> bool:
        return ca_refresh_every > 0 and epoch % ca_refresh_every == 0 and epoch < config.epochs

    def refresh(epoch: int) -> None:
        if refreshes_after(epoch):
            log.info("multitask: refreshing class-agnostic labels after epoch %d (Eq. 4)", epoch)
            refresh_ca_labels(
                model, index, ids, prior_dir, ca_dir, crf=crf, device=device, max_side=max_side, workers=workers
            )

    def restore_ca_labels(epoch: int) -> None:
        last_refresh = max((e for e in range(1, epoch + 1) if refreshes_after(e)), default=0)
        if last_refresh:
            log.info("multitask: rebuilding class-agnostic labels from the resumed network")
            refresh_ca_labels(
                model, index, ids, prior_dir, ca_dir, crf=crf, device=device, max_side=max_side, workers=workers
            )

    if distributed.is_main_process():  # rank 0 writes the labels every rank's dataset reads
        _binarise_prior(index, ids, prior_dir, ca_dir, ca_prior_threshold)
    distributed.barrier()
    dataset = WeakLabelDataset(index, ids, config, seg_label_dir=Path(seg_label_dir), ca_label_dir=ca_dir)
    settings = {
        **asdict(config),
        "crf": asdict(crf),
        "ca_prior_threshold": ca_prior_threshold,
        "ca_refresh_every": ca_refresh_every,
        "max_side": max_side,
    }
    run_id = fingerprint("multitask", settings, [init_checkpoint, seg_label_dir, ca_prior_dir])
    fit(
        model,
        dataset,
        config,
        device,
        stage="multitask",
        losses=functools.partial(multitask_losses, branches=BRANCHES),
        output_checkpoint=Path(output_checkpoint),
        log_csv=Path(log_csv),
        fingerprint=run_id,
        on_resume=restore_ca_labels,
        on_epoch_end=refresh,
    )


def train_supervised(
    dataset_root: str | Path,
    split: str,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    threads: int | None = None,
) -> None:
    """The fully supervised reference: the same network and losses (Eq. 8-11) on ground-truth masks.

    L_seg uses the masks, L_ca their object / background reduction; it starts
    from the same backbone initialisation as the weakly supervised path, so
    weak / full compares the supervision alone.
    """
    _train_new_model(
        "supervised",
        dataset_root,
        split,
        output_checkpoint,
        log_csv,
        model_config=model_config,
        train_config=train_config,
        threads=threads,
        branches=BRANCHES,
        ground_truth=True,
    )


def sonet_losses(model: nn.Module, images: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """Eq. 5 for :func:`wsss_core.train.fit`: ``loss_seg`` = CE(S, G), ``loss_objectness`` = BCE(S_O, O).

    ``batch["seg_labels"]`` is the pseudo label G, ``batch["ca_labels"]`` the
    binarised objectness O (0/1); 255 is ignored in both. ``fit`` sums the terms.
    """
    out = model(images, branches=("seg", "ca"))
    return {
        "loss_seg": segmentation_loss(out["seg_logits"], batch["seg_labels"]),
        "loss_objectness": class_agnostic_loss(out["ca_logits"], batch["ca_labels"]),
    }


def train_sonet(
    dataset_root: str | Path,
    split: str,
    seg_label_dir: str | Path,
    objectness_dir: str | Path,
    output_checkpoint: str | Path,
    log_csv: str | Path,
    *,
    model_config: dict[str, Any],
    train_config: dict[str, Any],
    objectness_threshold: float = 0.5,
    threads: int | None = None,
) -> None:
    """Train SONet from scratch (apart from ``backbone_weights``) on the images of ``split`` (Eq. 5).

    ``seg_label_dir`` holds the pseudo labels G (label PNGs, 255 = ignore),
    ``objectness_dir`` the objectness maps O (0-255 PNGs), binarised as
    O > ``objectness_threshold``. Writes ``output_checkpoint`` (``model_config`` with
    ``kind: sonet`` + ``state_dict``) and a per-epoch loss CSV; an
    interrupted run resumes after its last finished epoch.
    """
    seg_label_dir, objectness_dir = Path(seg_label_dir), Path(objectness_dir)
    for directory in (seg_label_dir, objectness_dir):
        if not directory.is_dir():
            raise InputError(f"{directory}: directory not found")
    config = TrainConfig.from_config(train_config)
    torch.manual_seed(config.seed)
    device = pick_device(threads)
    index = load_index(dataset_root)
    model = build_sonet({**model_config, "num_classes": index.num_classes})
    ids = index.ids(split)
    dataset = WeakLabelDataset(
        index, ids, config, seg_label_dir=seg_label_dir, ca_label_dir=objectness_dir, ca_threshold=objectness_threshold
    )
    settings = {**asdict(config), "model": model.model_config, "objectness_threshold": objectness_threshold}
    run_id = fingerprint(
        "sonet", settings, [Path(dataset_root) / "image_labels.csv", seg_label_dir, objectness_dir]
    )
    log.info("sonet: training %s on %d %s images", model.model_config["arch"], len(ids), split)
    fit(
        model,
        dataset,
        config,
        device,
        stage="sonet",
        losses=sonet_losses,
        output_checkpoint=Path(output_checkpoint),
        log_csv=Path(log_csv),
        fingerprint=run_id,
    )
