"""Shared fixtures: a tiny generated dataset, the tiny workflow run to its end, the paper configs' weights files."""

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet50
from workflow_helpers import RESNET38_WEIGHTS, RESNET50_WEIGHTS, TINY, run_snakemake, write_config

from wsss_core.data.synthetic import generate_dataset
from wsss_core.models.backbones import build_backbone


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


@pytest.fixture(scope="session")
def paper_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Weights files with the keys and shapes of those the paper configs name (random values): {config path: file}.

    psa's ResNet-38 (the backbone's keys, as converted) and torchvision's ResNet-50 (with its fc).
    """
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    files = {RESNET38_WEIGHTS: root / "resnet38.pth", RESNET50_WEIGHTS: root / "resnet50.pth"}
    torch.save(build_backbone("resnet38").state_dict(), files[RESNET38_WEIGHTS])
    torch.save(resnet50(weights=None).state_dict(), files[RESNET50_WEIGHTS])
    return files
