"""Joint training of the three branches (Fig. 5b) and retraining on the CTLR labels (Fig. 5d).

All branches train with L_cls + L_ca + L_seg (Eq. 8-11). The class-agnostic
labels start as the binarised prior map (the guidance map Pt_sal, or G_ca^ref
when retraining) and, every ``ca_refresh_every`` epochs, are replaced by
CRF_d((Pr_ca + prior) / 2) computed from the current network (Eq. 4,
:mod:`wsss_core.ctlr.ca_labels`); with soft labels the prior as it is, then
CRF_d's foreground marginals, are the targets of L_ca.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torch import nn

from wsss_core.crf import CrfParams
from wsss_core.ctlr.ca_labels import CaRefresher, initial_ca_labels
from wsss_core.ctlr.training import multitask_losses
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine import distributed
from wsss_core.engine.device import place_model
from wsss_core.engine.fit import fit, start_stage
from wsss_core.engine.resume import fingerprint
from wsss_core.models.checkpoint import load_model
from wsss_core.models.multitask import BRANCHES


def train_joint(
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
    ca_refresh_overlap: bool = False,
    ca_refresh_crf: str = "pydensecrf",
    ca_refresh_scales: Sequence[float] = (1.0,),
    ca_refresh_flip: bool = False,
    soft_ca_labels: bool = False,
    max_side: int | None = None,
    batch_size: int = 8,
    threads: int | None = None,
    workers: int = 1,
    branches: Sequence[str] = BRANCHES,
    loss_weights: Mapping[str, float] | None = None,
    on_epoch_end: Callable[[nn.Module, int], None] | None = None,
) -> None:
    """Fig. 5b / 5d: train ``branches`` with L_cls + L_ca + L_seg (Eq. 8-11; subsets: Table 5, refresh 0 without ca).

    Starts from ``init_checkpoint``; ``loss_weights`` scales Eq. 8's terms
    (:func:`multitask_losses`; None = unweighted). G_seg are the PNGs of
    ``seg_label_dir``. G_ca live in ``output_ca_label_dir`` (0/255 PNGs):
    first ``prior > ca_prior_threshold`` for the priors of ``ca_prior_dir``,
    then, after every ``ca_refresh_every``-th epoch (0 = never),
    CRF_d((Pr_ca + prior) / 2) from the current network (Eq. 4,
    :class:`CaRefresher`: Pr_ca at ``ca_refresh_scales``, with
    ``ca_refresh_flip`` max-fused with mirrored copies, ``batch_size`` images
    a pass; CRFs on ``workers`` processes or, with ``ca_refresh_crf="torch"``,
    on the training device; with ``ca_refresh_overlap`` used one epoch later);
    the directory ends holding the last epoch's (rank 0 writes them). With
    ``soft_ca_labels`` G_ca is the prior itself, then CRF_d's foreground
    probabilities, soft targets of L_ca. ``on_epoch_end(model, epochs_done)`` runs after each epoch's refresh.
    """
    config, device = start_stage(train_config, threads)
    index = load_index(dataset_root)
    ids = index.ids(split)
    prior_dir, ca_dir = Path(ca_prior_dir), Path(output_ca_label_dir)
    refresh = {"every": ca_refresh_every, "overlap": ca_refresh_overlap, "crf_backend": ca_refresh_crf,
               "scales": list(ca_refresh_scales), "flip": ca_refresh_flip, "soft": soft_ca_labels}  # fmt: skip
    refresher = None
    if distributed.is_main_process():  # rank 0 writes the labels every rank's dataset reads
        refresher = CaRefresher(
            index, ids, prior_dir, ca_dir, crf=crf, device=device, max_side=max_side, workers=workers,
            batch_size=batch_size, epochs=config.epochs, **refresh,
        )  # fmt: skip
        initial_ca_labels(index, ids, prior_dir, ca_dir, None if soft_ca_labels else ca_prior_threshold)
    distributed.barrier()
    model = place_model(load_model(init_checkpoint, num_classes=index.num_classes), device)
    dataset = WeakLabelDataset(index, ids, config, seg_label_dir=Path(seg_label_dir), ca_label_dir=ca_dir,
                               ca_threshold=None if soft_ca_labels else 0.5)  # the stored labels: soft, or 0/255
    settings = {**asdict(config), "crf": asdict(crf), "ca_prior_threshold": ca_prior_threshold, "max_side": max_side,
                "ca_refresh": refresh, "branches": sorted(branches), "loss_weights": dict(loss_weights or {})}  # fmt: skip
    run_id = fingerprint("multitask", settings, [init_checkpoint, seg_label_dir, ca_prior_dir])

    def after_epoch(epoch: int) -> None:
        refresher.after_epoch(model, epoch)
        if on_epoch_end is not None:
            on_epoch_end(model, epoch)

    try:
        fit(
            model, dataset, config, device, stage="multitask", fingerprint=run_id,
            losses=functools.partial(multitask_losses, branches=tuple(branches), weights=loss_weights),
            output_checkpoint=Path(output_checkpoint), log_csv=Path(log_csv),
            on_resume=lambda epoch: refresher.after_resume(model, epoch), on_epoch_end=after_epoch,
        )  # fmt: skip
    finally:
        if refresher is not None:
            refresher.close()
