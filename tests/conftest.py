"""Shared fixtures: a tiny generated dataset."""

from pathlib import Path

import pytest

from wsss_core.data.synthetic import generate_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated dataset of 12 train and 4 val images of 64x64 pixels."""
    root = tmp_path_factory.mktemp("data") / "dataset"
    generate_dataset(root, num_train=12, num_val=4, image_size=64, seed=3)
    return root
