"""Running the real Snakemake workflow from tests, and comparing the outputs of two runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# A DAG of the whole CTLR method on 12 + 4 generated 64 px images, about a minute on 2 cores.
TINY = {
    "run": "tiny",
    "dataset": {
        "generator": {"num_train": 12, "num_val": 4, "image_size": 64, "num_classes": 6, "num_source": 8, "seed": 1},
    },
    "train": {"batch_size": 4, "crop_size": 56},
    "classifier": {"train": {"epochs": 2}},
    "joint": {"train": {"epochs": 2}, "ca_refresh_every": 1},
    "retrain": {"train": {"epochs": 1}, "ca_refresh_every": 0},
    "objectness": {"train": {"epochs": 1, "batch_size": 4}},
    "sonet": {"train": {"epochs": 1}},
    "inference": {"scales": [0.75, 1.0], "flip": True},
    "threads": {"train": 1, "per_image": 2},  # one thread a training job: independent trainings run side by side
    "mem_mb": {"train": 2000, "inference": 1500, "per_image": 1000},  # what tiny jobs ask of a small test node
}

# The weights files the paper configs name, relative to the working directory (conftest.py: paper_weights).
RESNET38_WEIGHTS = "weights/ilsvrc-cls_rna-a1_cls1000_ep-0001.pth"
RESNET50_WEIGHTS = "weights/resnet50-11ad3fa6.pth"
RESNET101_WEIGHTS = "weights/resnet101-cd907fc2.pth"

# What differs between two runs of the same DAG by nature: timings, logs, the shards' parts, the stored run configuration.
RUN_SPECIFIC = ("logs", "benchmarks", "shards", "config.yaml")


def merge(base: dict, override: dict) -> dict:
    """``base`` with ``override`` merged in key by key (as Snakemake merges config files)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def write_config(path: Path, config: dict) -> Path:
    """Write ``config`` as YAML to ``path``."""
    path.write_text(yaml.safe_dump(config))
    return path


def link_weights(workdir: Path, weights: dict[str, Path], *names: str) -> None:
    """Link the weights files ``names`` (of ``weights``, conftest.py's paper_weights) where a config run in ``workdir`` reads them."""
    for name in names:
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).symlink_to(weights[name])


def run_snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` on 2 cores; fail the test with its output if it fails."""
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    return result


def job_counts(output: str) -> dict[str, int]:
    """{rule: number of jobs} of the 'Job stats' table Snakemake prints."""
    table = output.split("Job stats:", 1)[1]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, flags=re.MULTILINE)}
    counts.pop("total", None)
    return counts


def _same_png(a: Path, b: Path) -> bool:
    with Image.open(a) as image_a, Image.open(b) as image_b:
        return image_a.mode == image_b.mode and np.array_equal(np.asarray(image_a), np.asarray(image_b))


def _same_store(a: Path, b: Path) -> bool:
    with h5py.File(a, "r") as store_a, h5py.File(b, "r") as store_b:
        if set(store_a) != set(store_b) or set(store_a.attrs) != set(store_b.attrs):
            return False
        if not all(np.array_equal(store_a.attrs[k], store_b.attrs[k]) for k in store_a.attrs):
            return False
        for image_id in store_a:
            group_a, group_b = store_a[image_id], store_b[image_id]
            if set(group_a) != set(group_b) or not all(np.array_equal(group_a[n][()], group_b[n][()]) for n in group_a):
                return False
            if not all(np.array_equal(group_a.attrs[k], group_b.attrs.get(k)) for k in group_a.attrs):
                return False
    return True


def _same_checkpoint(a: Path, b: Path) -> bool:
    state_a = torch.load(a, weights_only=True)["state_dict"]
    state_b = torch.load(b, weights_only=True)["state_dict"]
    return state_a.keys() == state_b.keys() and all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def _same_table(a: Path, b: Path) -> bool:
    table_a, table_b = pd.read_csv(a), pd.read_csv(b)
    timing = [column for column in ("seconds", "epoch_end_seconds") if column in table_a]  # wall times in train_logs
    return table_a.drop(columns=timing).equals(table_b.drop(columns=timing))


def compare_runs(run_a: Path, run_b: Path) -> list[str]:
    """Relative paths under two run directories (results/<run>) whose content differs, or that only one has.

    Label maps compare by pixels, HDF5 stores by arrays and attributes,
    checkpoints by tensors, CSV tables by values (without timings); the rest
    byte by byte. Logs, benchmarks and shard parts are not compared.
    """

    def files(run: Path) -> set[Path]:
        return {
            path.relative_to(run)
            for path in run.rglob("*")
            if path.is_file() and path.relative_to(run).parts[0] not in RUN_SPECIFIC
        }

    files_a, files_b = files(run_a), files(run_b)
    differing = [str(path) for path in sorted(files_a ^ files_b)]
    for relative in sorted(files_a & files_b):
        a, b = run_a / relative, run_b / relative
        same = {
            ".png": _same_png,
            ".h5": _same_store,
            ".pt": _same_checkpoint,
            ".csv": _same_table,
        }.get(relative.suffix, lambda x, y: x.read_bytes() == y.read_bytes())(a, b)
        if not same:
            differing.append(str(relative))
    return differing


def empty_voc_tree(root: Path) -> Path:
    """A VOC2012-shaped tree of empty files: the layouts of configs/voc12_paper.yaml and configs/voc12_sample.yaml."""
    ids = {"train_aug": ["2007_000032", "2007_000039"], "val": ["2007_000033"], "test": ["2008_000001"]}
    ids["train"] = ids["train_aug"]
    layout = (("JPEGImages", ".jpg"), ("SegmentationClassAug", ".png"), ("Annotations", ".xml"), ("saliency_dss", ".png"), ("saliency", ".png"))
    for directory, suffix in layout:
        (root / directory).mkdir(parents=True)
        for image_id in sum(ids.values(), []):
            (root / directory / f"{image_id}{suffix}").touch()
    lists = root / "ImageSets" / "Segmentation"
    lists.mkdir(parents=True)
    for split, split_ids in ids.items():
        (lists / f"{split}.txt").write_text("".join(f"{i}\n" for i in split_ids))
    return root


def empty_coco_tree(root: Path) -> Path:
    """A COCO-2014-shaped tree (configs/coco14_paper.yaml): image folders, minimal annotation files, saliency maps."""
    for split in ("train2014", "val2014"):
        (root / split).mkdir(parents=True)
        (root / split / f"COCO_{split}_000000000009.jpg").touch()
    (root / "saliency_dss").mkdir()
    (root / "saliency_dss" / "COCO_train2014_000000000009.png").touch()
    (root / "annotations").mkdir()
    for split in ("train2014", "val2014"):
        (root / "annotations" / f"instances_{split}.json").write_text('{"images": [], "annotations": [], "categories": []}')
    return root


def empty_cityscapes_tree(root: Path) -> Path:
    """A Cityscapes-shaped tree of empty files (configs/cityscapes_sonet.yaml): one frame per split."""
    for split, city, stem in (("train", "aachen", "aachen_000000_000019"), ("val", "lindau", "lindau_000000_000019")):
        for folder, suffixes in (("leftImg8bit", ["_leftImg8bit.png"]), ("gtFine", ["_gtFine_labelIds.png", "_gtFine_instanceIds.png"])):
            (root / folder / split / city).mkdir(parents=True)
            for suffix in suffixes:
                (root / folder / split / city / f"{stem}{suffix}").touch()
    return root


def empty_openimages_tree(root: Path) -> Path:
    """An Open Images-shaped tree (configs/openimages_to_voc12_sonet.yaml): one empty image, empty box and class CSVs."""
    (root / "train").mkdir(parents=True)
    (root / "train" / "000002b66c9c498e.jpg").touch()
    for name in ("train-annotations-bbox.csv", "class-descriptions-boxable.csv"):
        (root / name).touch()
    return root
