"""Multi-process training on the CPU (gloo): DDP inside fit, and the torchrun launcher."""

from __future__ import annotations

import functools
import logging
import os
import socket
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.multiprocessing as mp

from wsss_core.ctlr.training import multitask_losses, train_classifier
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine import distributed
from wsss_core.engine.config import TrainConfig
from wsss_core.engine.fit import fit
from wsss_core.models import build_model
from wsss_core.models.multitask import BRANCHES

MODEL = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "atrous_rates": [6, 12, 18]}
TRAIN = {"epochs": 1, "batch_size": 4, "lr": 0.01, "crop_size": 48, "scale_range": [0.9, 1.1], "seed": 0}
WORLD = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank(rank: int, port: int, dataset_root: Path, out: Path) -> None:
    """One rank: join the group as under torchrun, train the three branches for one epoch, dump the weights."""
    os.environ.update(
        RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    distributed.init_process_group()
    try:
        config = TrainConfig.from_config(TRAIN)
        index = load_index(dataset_root)
        torch.manual_seed(config.seed + rank)  # different on purpose: DDP must start every rank from rank 0's weights
        model = build_model({**MODEL, "num_classes": index.num_classes})
        if rank == 0:
            torch.save(model.state_dict(), out / "initial.pt")
        fit(
            model,
            WeakLabelDataset(index, index.ids("train"), config, ground_truth=True),
            config,
            torch.device("cpu"),
            stage="supervised",
            losses=functools.partial(multitask_losses, branches=BRANCHES),
            output_checkpoint=out / "model.pt",
            log_csv=out / "history.csv",
            fingerprint="test",
            on_epoch_end=lambda epoch: (out / f"epoch_end_rank{rank}").touch(),
        )
        torch.save(model.state_dict(), out / f"rank{rank}.pt")
    finally:
        distributed.destroy_process_group()


def test_two_ranks_end_an_epoch_with_identical_weights(tiny_dataset: Path, tmp_path: Path) -> None:
    mp.spawn(_rank, args=(_free_port(), tiny_dataset, tmp_path), nprocs=WORLD, join=True)
    initial = torch.load(tmp_path / "initial.pt", weights_only=True)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(WORLD)]
    assert set(ranks[0]) == set(ranks[1]) == set(initial)
    for name, value in ranks[0].items():  # parameters and buffers (batch-norm statistics)
        assert torch.equal(value, ranks[1][name]), name
    changed = {name.split(".")[0] for name, value in ranks[0].items() if not torch.equal(value, initial[name])}
    assert {"backbone", "classifier", "ca_decoder", "seg_decoder"} <= changed  # so the test can fail

    checkpoint = torch.load(tmp_path / "model.pt", weights_only=True)
    assert checkpoint["state_dict"].keys() == initial.keys()  # no "module." prefix
    for name, value in checkpoint["state_dict"].items():
        assert torch.equal(value, ranks[0][name]), name
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [1]
    assert not (tmp_path / "model.pt.resume").exists()
    assert (tmp_path / "epoch_end_rank0").exists() and not (tmp_path / "epoch_end_rank1").exists()


def _classifier_kwargs(dataset: Path, out: Path, **train: object) -> dict[str, object]:
    return {
        "dataset_root": dataset,
        "split": "train",
        "output_checkpoint": out / "classifier.pt",
        "log_csv": out / "classifier.csv",
        "model_config": MODEL,
        "train_config": {**TRAIN, **train},
        "threads": 2,
    }


def test_launcher_writes_the_outputs_of_a_single_process_run(tiny_dataset: Path, tmp_path: Path, caplog) -> None:
    single, multi = tmp_path / "single", tmp_path / "multi"
    distributed.run_training(train_classifier, _classifier_kwargs(tiny_dataset, single), gpus=1)
    with caplog.at_level(logging.INFO):
        distributed.run_training(train_classifier, _classifier_kwargs(tiny_dataset, multi), gpus=WORLD)
    assert "process group: rank 0 of 2 (gloo)" in caplog.text  # rank 0's records come back through logging
    assert f"classifier: wrote {multi / 'classifier.pt'}" in caplog.text

    assert sorted(path.name for path in multi.iterdir()) == ["classifier.csv", "classifier.pt"]
    expected = torch.load(single / "classifier.pt", weights_only=True)
    checkpoint = torch.load(multi / "classifier.pt", weights_only=True)
    assert checkpoint.keys() == expected.keys()
    assert checkpoint["model_config"] == expected["model_config"]
    assert checkpoint["state_dict"].keys() == expected["state_dict"].keys()
    history = pd.read_csv(multi / "classifier.csv")
    assert history.columns.tolist() == pd.read_csv(single / "classifier.csv").columns.tolist()
    assert history["epoch"].tolist() == [1]


def test_batch_not_divisible_by_the_processes_fails_naming_it(tiny_dataset: Path, tmp_path: Path, caplog) -> None:
    kwargs = _classifier_kwargs(tiny_dataset, tmp_path, batch_size=3)
    failed = "train_classifier: torchrun with 2 processes failed"
    with caplog.at_level(logging.INFO), pytest.raises(RuntimeError, match=failed):
        distributed.run_training(train_classifier, kwargs, gpus=WORLD)
    assert "classifier: batch_size 3 is not divisible by the 2 training processes" in caplog.text
    assert not (tmp_path / "classifier.pt").exists()


def test_only_training_functions_importable_by_name_are_launched() -> None:
    def local_stage(**kwargs: object) -> None:  # the ranks could not import it
        raise AssertionError("must not run")

    with pytest.raises(ValueError, match="cannot launch .*local_stage.*importable by name"):
        distributed.run_training(local_stage, {}, gpus=2)
