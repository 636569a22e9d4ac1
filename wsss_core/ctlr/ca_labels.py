"""Class-agnostic pseudo labels G_ca (Sec. 3.4, Eq. 4): their start from a prior map and their online refresh.

The prior of G_ca is the guidance map Pt_sal in joint training and G_ca^ref
when retraining. Before the first refresh G_ca is the prior binarised; a
refresh predicts Pr_ca with the current network and sets
G_ca = CRF_d((Pr_ca + prior) / 2). Label maps are 0/255 PNGs. With soft labels
(AuxSegNet's gen_pgt.py) G_ca is the prior as it is before the first refresh
and CRF_d's foreground marginal after each, stored as 0-255 PNGs.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from wsss_core.crf import CrfParams, crf_foreground
from wsss_core.data.dataset import DatasetIndex
from wsss_core.guidance.maps import read_guidance
from wsss_core.inference.batches import image_batches
from wsss_core.inference.predict import predict_batch
from wsss_core.io import read_image_size, read_rgb, write_gray
from wsss_core.logs import progress
from wsss_core.parallel import WorkerPool

log = logging.getLogger(__name__)


def class_agnostic_labels(
    image: np.ndarray,
    ca_prob: np.ndarray,
    prior: np.ndarray,
    crf: CrfParams,
    device: torch.device | None = None,
    *,
    soft: bool = False,
) -> np.ndarray:
    """Eq. 4 / Eq. 5: CRF_d((Pr_ca + prior) / 2), a (H,W) uint8 0/1 mask (``soft``: float foreground marginal).

    ``prior`` is the saliency map Pt_sal (Eq. 4, online class-agnostic labels
    G_ca) or the binarised segmentation Br_s(Pr_seg) (Eq. 5, G_ca^ref). The
    CRF runs in pydensecrf, or in torch on ``device`` (the `torch` backend).
    """
    return crf_foreground(image, (ca_prob + prior) / 2.0, crf, device, soft=soft)


def write_ca_label(path: Path, mask: np.ndarray) -> None:
    """Write a class-agnostic label as a PNG: a 0/1 (bool or integer) mask as 0/255, a float map in [0, 1] as 0-255."""
    if np.issubdtype(mask.dtype, np.floating):
        write_gray(path, np.rint(mask.clip(0.0, 1.0) * 255.0).astype(np.uint8))
    else:
        write_gray(path, mask.astype(np.uint8) * np.uint8(255))


def initial_ca_labels(
    index: DatasetIndex, ids: Sequence[str], ca_prior_dir: Path, output_dir: Path, threshold: float | None
) -> None:
    """The class-agnostic labels before the first refresh, for every id: prior > ``threshold``, or (None) the prior itself."""
    output_dir.mkdir(parents=True, exist_ok=True)
    for image_id in ids:
        prior = read_guidance(ca_prior_dir / f"{image_id}.png", read_image_size(index.image_path(image_id)))
        write_ca_label(output_dir / f"{image_id}.png", prior if threshold is None else prior > threshold)


class _RefreshTask:
    """G_ca = CRF_d((Pr_ca + prior) / 2) of one image (Eq. 4), written as a 0/255 PNG into ``output_dir``.

    An item is (image id, Pr_ca), Pr_ca as an array or as the path of a
    float16 ``.npy`` file; the worker reads the image and the prior itself.
    The CRF runs on ``device`` with the torch backend (None: pydensecrf);
    ``soft`` keeps its foreground marginal instead of the MAP labels.
    """

    def __init__(
        self,
        index: DatasetIndex,
        ca_prior_dir: Path,
        output_dir: Path,
        crf: CrfParams,
        device: torch.device | None,
        soft: bool = False,
    ) -> None:
        self.index, self.ca_prior_dir, self.output_dir, self.crf, self.device = index, ca_prior_dir, output_dir, crf, device
        self.soft = soft

    def __call__(self, item: tuple[str, np.ndarray | Path]) -> None:
        image_id, ca_prob = item
        if isinstance(ca_prob, Path):
            ca_prob = np.load(ca_prob).astype(np.float32)
            item[1].unlink()
        image = read_rgb(self.index.image_path(image_id))
        prior = read_guidance(self.ca_prior_dir / f"{image_id}.png", ca_prob.shape)
        labels = class_agnostic_labels(image, ca_prob, prior, self.crf, self.device, soft=self.soft)
        write_ca_label(self.output_dir / f"{image_id}.png", labels)


def _replace_directory(new: Path, old: Path) -> None:
    """Move the complete directory ``new`` onto ``old`` (whose previous content is removed)."""
    retired = old.with_name(f".{old.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if old.exists():
        os.replace(old, retired)
    os.replace(new, old)
    shutil.rmtree(retired, ignore_errors=True)


class CaRefresher:
    """The online refresh of G_ca (Eq. 4) during joint training, for the ids of one split.

    Pr_ca is predicted on the images brought down to ``max_side``, at
    ``scales`` (``(1.0,)``: single scale) max-fused with their mirrored copies
    where ``flip`` (:func:`predict_batch`), ``batch_size`` images of one size
    at a time on the training device; the
    CRFs run in pydensecrf on ``workers`` processes forked when the refresher
    is made (make it before the network, so the workers stay small) or, with
    ``crf_backend="torch"``, on the training device from ``workers`` threads
    (which decode, read the prior and write the PNGs in parallel). New
    labels are written next to ``ca_dir`` and replace it only when complete;
    with ``soft`` they are CRF_d's foreground marginals (0-255 PNGs).

    :meth:`after_epoch` refreshes after every ``every``-th of the ``epochs``
    epochs (0 = never). :meth:`refresh` does it all before returning (the
    paper's order: the next epoch trains on the new labels). With
    ``overlap``, :meth:`start` runs the forward passes, queues the CRFs and
    returns, and :meth:`finish` (at the end of the next epoch) waits for them
    and swaps the labels in: they then lag one epoch behind the network, and
    Pr_ca travels to the workers through float16 files.
    """

    def __init__(
        self,
        index: DatasetIndex,
        ids: Sequence[str],
        ca_prior_dir: Path,
        ca_dir: Path,
        *,
        crf: CrfParams,
        device: torch.device,
        max_side: int | None,
        workers: int,
        batch_size: int,
        every: int,
        epochs: int,
        scales: Sequence[float],
        flip: bool,
        overlap: bool = False,
        crf_backend: str = "pydensecrf",
        soft: bool = False,
    ) -> None:
        if crf_backend not in ("pydensecrf", "torch"):
            raise ValueError(f"unknown CRF backend {crf_backend!r}: pydensecrf or torch")
        self.index, self.ids, self.ca_dir, self.device = index, list(ids), ca_dir, device
        self.max_side, self.batch_size, self.every, self.epochs, self.overlap = max_side, batch_size, every, epochs, overlap
        self.scales, self.flip = tuple(scales), flip
        self.staging = ca_dir.with_name(f".{ca_dir.name}.next")
        self.spool = ca_dir.with_name(f".{ca_dir.name}.pr_ca")
        crf_device = device if crf_backend == "torch" else None
        task = _RefreshTask(index, ca_prior_dir, self.staging, crf, crf_device, soft)
        self.pool = WorkerPool(task, workers, threads=crf_device is not None)
        self._pending: list[Callable[[], None]] = []

    def refreshes_after(self, epoch: int) -> bool:
        """Whether a refresh follows ``epoch`` (1-based): only when its labels are used by a later epoch."""
        lag = 1 if self.overlap else 0
        return self.every > 0 and epoch % self.every == 0 and epoch + lag < self.epochs

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        """End of ``epoch``: swap in a refresh that ran meanwhile, then refresh if one follows this epoch."""
        self.finish()
        if self.refreshes_after(epoch):
            log.info("multitask: refreshing class-agnostic labels after epoch %d (Eq. 4)", epoch)
            (self.start if self.overlap else self.refresh)(model)

    def after_resume(self, model: nn.Module, epoch: int) -> None:
        """Resuming after ``epoch``: rebuild the labels in use from the resumed network, if a refresh made them."""
        lag = 1 if self.overlap else 0
        if any(self.refreshes_after(e) for e in range(1, epoch + 1 - lag)):
            log.info("multitask: rebuilding class-agnostic labels from the resumed network")
            self.refresh(model)

    @torch.no_grad()
    def _probabilities(self, model: nn.Module) -> Iterator[tuple[str, np.ndarray]]:
        """(id, Pr_ca) of every id, from batched forward passes in eval mode."""
        was_training = model.training
        model.eval()
        for batch in image_batches(self.index, self.ids, batch_size=self.batch_size):
            out = predict_batch(
                model, batch.images, self.device, scales=self.scales, flip=self.flip, max_side=self.max_side,
                single=False, branches=("ca",),
            )  # fmt: skip
            for image_id, ca_prob in zip(batch.ids, out["ca_ms"].cpu().numpy()):
                yield image_id, ca_prob
        model.train(was_training)

    def _reset(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    def refresh(self, model: nn.Module) -> None:
        """Recompute G_ca from ``model`` and replace the labels in ``ca_dir``."""
        self._reset(self.staging)
        for _ in self.pool.imap(self._probabilities(model), total=len(self.ids), desc="refresh G_ca"):
            pass
        _replace_directory(self.staging, self.ca_dir)

    def start(self, model: nn.Module) -> None:
        """Run the forward passes of a refresh from ``model`` and queue its CRFs (``overlap``)."""
        self._reset(self.staging)
        self._reset(self.spool)
        for image_id, ca_prob in progress(self._probabilities(model), total=len(self.ids), desc="refresh G_ca: Pr_ca"):
            path = self.spool / f"{image_id}.npy"
            np.save(path, ca_prob.astype(np.float16))
            self._pending.append(self.pool.submit((image_id, path)))

    def finish(self) -> None:
        """Wait for the CRFs queued by :meth:`start` and replace the labels in ``ca_dir`` (nothing if none)."""
        if not self._pending:
            return
        for wait in progress(self._pending, total=len(self._pending), desc="refresh G_ca: CRF"):
            wait()
        self._pending = []
        _replace_directory(self.staging, self.ca_dir)
        shutil.rmtree(self.spool, ignore_errors=True)

    def close(self) -> None:
        """Stop the workers and remove what a refresh left behind."""
        self.pool.close()
        for directory in (self.staging, self.spool):
            shutil.rmtree(directory, ignore_errors=True)
