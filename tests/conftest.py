"""Shared fixtures: a tiny generated dataset, and the tiny workflow run to its end."""

from pathlib import Path

import pytest
from workflow_helpers import TINY, run_snakemake, write_config

from wsss_core.data.synthetic import generate_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated dataset of 12 train and 4 val images of 64x64 pixels."""
    root = tmp_path_factory.mktemp("data") / "dataset"
    generate_dataset(root, num_train=12, num_val=4, image_size=64, seed=3, num_classes=6, num_source=0)
    return root


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory where the tiny CTLR DAG ran to the end locally (one shard per stage)."""
    workdir = tmp_path_factory.mktemp("workflow")
    run_snakemake(workdir, "--configfile", str(write_config(workdir / "tiny.yaml", TINY)))
    return workdir
