"""Shared fixtures: a tiny generated dataset, the tiny workflow run to its end, the paper configs' weights files."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from filelock import FileLock
from torchvision.models import resnet50, resnet101
from workflow_helpers import RESNET38_WEIGHTS, RESNET50_WEIGHTS, RESNET101_WEIGHTS, TINY, run_snakemake, write_config

from wsss_core.data.synthetic import generate_dataset
from wsss_core.models.backbones import build_backbone


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The directory ``name`` that ``make`` fills, made once per test session, not once per pytest-xdist worker.

    Under xdist every worker has its own base temp directory below a common one: the first worker to
    ask makes the directory there, under a file lock, and the others wait for it and read it.
    A directory whose ``make`` failed is made again by the next worker that asks.
    """
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent
    directory, done = root / name, root / f"{name}.done"
    with FileLock(root / f"{name}.lock"):
        if not done.exists():
            directory.mkdir(exist_ok=True)
            make(directory)
            done.touch()
    return directory


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated dataset of 12 train and 4 val images of 64x64 pixels."""
    root = tmp_path_factory.mktemp("data") / "dataset"
    generate_dataset(root, num_train=12, num_val=4, image_size=64, seed=3, num_classes=6, num_source=0)
    return root


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A work directory where the tiny CTLR DAG ran to the end locally (one shard per stage)."""

    def run(workdir: Path) -> None:
        run_snakemake(workdir, "--configfile", str(write_config(workdir / "tiny.yaml", TINY)))

    return made_once(tmp_path_factory, "finished_run", run)


@pytest.fixture(scope="session")
def paper_weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Weights files with the keys and shapes of those the paper configs name (random values): {config path: file}.

    psa's ResNet-38 (the backbone's keys, as converted) and torchvision's ResNet-50 and ResNet-101 (with their fc).
    """
    names = {RESNET38_WEIGHTS: "resnet38.pth", RESNET50_WEIGHTS: "resnet50.pth", RESNET101_WEIGHTS: "resnet101.pth"}

    def save(root: Path) -> None:
        torch.manual_seed(0)
        torch.save(build_backbone("resnet38").state_dict(), root / names[RESNET38_WEIGHTS])
        torch.save(resnet50(weights=None).state_dict(), root / names[RESNET50_WEIGHTS])
        torch.save(resnet101(weights=None).state_dict(), root / names[RESNET101_WEIGHTS])

    root = made_once(tmp_path_factory, "weights", save)
    return {key: root / name for key, name in names.items()}


# The longest work units first (seconds on 2 cores, 2026-12-08), so that the suite does not end with one
# worker on a long run while the other idles; every other module after these, in collection order.
MINIATURE = "tests/test_shipped_configs.py::test_shipped_config_runs_end_to_end_in_miniature"
LONGEST_FIRST = [
    f"{MINIATURE}[voc12_sonet]",
    f"{MINIATURE}[voc12_paper]",
    "tests/test_seeds.py",
    "tests/slurm/test_slurm.py",
    f"{MINIATURE}[coco14_paper]",
    "tests/test_pipeline.py",
    f"{MINIATURE}[openimages_to_voc12_sonet]",
    f"{MINIATURE}[cityscapes_sonet]",
    "tests/test_faults.py",
    f"{MINIATURE}[voc12_sample]",
    "tests/test_report.py",
    "tests/test_documented_commands.py",
]
# modules whose tests share no fixture and each take minutes: one work unit per test
SPREAD = "tests/test_shipped_configs.py"


def work_unit(nodeid: str) -> str:
    """The work unit of a test under pytest-xdist: its module, so that a module's fixtures (a tiny run of the
    workflow, the built manual) are made once, not once per worker; each test of ``SPREAD`` on its own."""
    module = nodeid.split("::", 1)[0]
    return nodeid if module == SPREAD else module


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Hand out work units (``work_unit``) in collection order."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The work units of ``LONGEST_FIRST`` first (``--no-loadscope-reorder`` keeps this order), then the others."""
    rank = {unit: position for position, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))
