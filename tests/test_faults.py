"""Bad input, as a user meets it: every fault named (file and problem) by the workflow, and kills survived.

The dataset faults are all put into one folder dataset and found by one run
of the ``validate`` target (validate_inputs alone, before any training): each
case asserts its line in Snakemake's output and in validation.txt. The
configuration and checkpoint faults run their own (dry) runs. The
interruption test kills the whole Snakemake process group at seeded random
moments of a tiny DAG and checks that ``--rerun-incomplete`` ends with the
outputs of an uninterrupted run (``WSSS_KILLS`` sets the number of kills).
"""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from workflow_helpers import REPO, RUN_SPECIFIC, SNAKEMAKE, TINY, compare_runs, merge, write_config

from wsss_core.data.synthetic import generate_dataset
from wsss_core.io import write_gray, write_label_map
from wsss_core.models.checkpoint import load_checkpoint
from wsss_core.store import read_store

# A folder dataset with precomputed saliency maps: 12 train + 4 val images of 64 px, 6 classes.
FOLDER = {
    "run": "faults",
    "data_root": "data",
    "dataset": {"kind": "folder"},
    "guidance": {"method": "precomputed", "dir": "saliency"},
    "threads": {"train": 1, "per_image": 1},
}


def snakemake(workdir: Path, *args: str, config: dict = FOLDER) -> tuple[int, str]:
    """Run the workflow in ``workdir``; (exit status, stdout + stderr)."""
    configfile = write_config(workdir / "config.yaml", config)
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "1", *args, "--configfile", str(configfile)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def folder_dataset(workdir: Path) -> Path:
    """The clean folder dataset under ``workdir/data``, with a saliency map per training image."""
    root = workdir / "data"
    generate_dataset(root, num_train=12, num_val=4, image_size=64, seed=3, num_classes=6, num_source=0)
    for image in (root / "images").glob("train_*.png"):
        write_gray(root / "saliency" / image.name, np.full((64, 64), 128, np.uint8))
    return root


def _set_labels(root: Path, edits: dict[str, str], extra_rows: list[tuple[str, str, str]]) -> None:
    path = root / "image_labels.csv"
    with path.open(newline="") as handle:
        rows = [[row[0], row[1], edits.get(row[0], row[2])] for row in list(csv.reader(handle))[1:]]
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["image_id", "split", "labels"], *rows, *extra_rows])


def corrupt(root: Path) -> None:
    """One fault of each kind (see CASES)."""
    (root / "images" / "train_0000.png").write_bytes(b"this is not an image")
    truncated = root / "images" / "train_0001.png"
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    (root / "images" / "train_0002.png").unlink()
    (root / "saliency" / "train_0003.png").unlink()
    write_gray(root / "saliency" / "train_0004.png", np.zeros((32, 48), np.uint8))
    mask = np.asarray(Image.open(root / "masks" / "val_0000.png")).copy()
    mask[:4, :4] = 7
    write_label_map(root / "masks" / "val_0000.png", mask)
    _set_labels(
        root,
        {"train_0005": "9", "train_0006": "bee", "train_0007": "dragon"},
        [("../evil", "train", "1"), ("/etc/passwd", "train", "1"), (".hidden", "train", "1"), ("a/b", "train", "1"),
         ("train_0008", "val", "4")],
    )


CASES = {  # case: the line validate_inputs prints (data/ is the dataset under the work directory)
    "corrupt image": "data/images/train_0000.png: not a readable image (",
    "truncated PNG": "data/images/train_0001.png: not a readable image (",
    "missing image": "data/images/train_0002.(png|jpg|jpeg): image of 'train_0002' not found",
    "missing saliency map": "data/saliency/train_0003.png: guidance (saliency) map of 'train_0003' not found",
    "wrong-size saliency map": "data/saliency/train_0004.png: map is 48x32, its image is 64x64",
    "class index out of range": "data/image_labels.csv:7: class index 9 of image 'train_0005' is outside 1..6",
    "class name where an index is expected": (
        "data/image_labels.csv:8: class name 'bee' of image 'train_0006' where a class index is expected (it is 4)"
    ),
    "unknown class name": (
        "data/image_labels.csv:9: label 'dragon' of image 'train_0007' is neither a class index nor a class of classes.txt"
    ),
    "mask value out of range": "data/masks/val_0000.png: mask values [7] are outside 0..6 and 255",
    "path-traversal id": "data/image_labels.csv:18: image id '../evil' leaves its folder ('..')",
    "absolute-path id": "data/image_labels.csv:19: image id '/etc/passwd' is an absolute path",
    "hidden id": "data/image_labels.csv:20: image id '.hidden' starts with a dot (hidden file, or '..')",
    "id with a separator": "data/image_labels.csv:21: image id 'a/b' contains a path separator",
    "duplicate id": "data/image_labels.csv:22: image id 'train_0008' listed twice (first on line 10)",
}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, str]:
    """(exit status, output, validation.txt) of one ``validate`` run on a dataset with every fault of CASES."""
    workdir = tmp_path_factory.mktemp("faults")
    corrupt(folder_dataset(workdir))
    status, output = snakemake(workdir, "validate")
    report = workdir / "results" / "faults" / "validation.txt"
    return status, output, report.read_text() if report.exists() else ""


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_dataset_fault_is_listed_by_one_validation_run(faulty: tuple[int, str, str], case: str) -> None:
    status, output, report = faulty
    assert status != 0
    assert CASES[case] in output, output[-6000:]
    assert sum(CASES[case] in line for line in report.splitlines()) == 1, report


def test_the_validation_fails_once_with_the_count_and_nothing_else_ran(faulty: tuple[int, str, str]) -> None:
    status, output, report = faulty
    assert f"{len(CASES)} problem(s) in the dataset, listed one per line in results/faults/validation.txt" in output
    assert report.splitlines()[-1].endswith(f"0 left out of training; {len(CASES)} problem(s), 0 warning(s)")
    assert "rule train_classifier" not in output and "rule extract_saliency" not in output


def test_a_clean_dataset_passes_with_counts_and_empty_label_sets_are_excluded(tmp_path: Path) -> None:
    root = folder_dataset(tmp_path)
    _set_labels(root, {"train_0009": ""}, [])
    status, output = snakemake(tmp_path, "validate")
    assert status == 0, output[-4000:]
    report = (tmp_path / "results" / "faults" / "validation.txt").read_text().splitlines()
    assert report[0] == (
        "warning: data/image_labels.csv: image 'train_0009' of split 'train' has no class label; "
        "left out of training (dataset.empty_labels: exclude)"
    )
    assert report[-1] == (
        "data: 6 classes, 16 images checked (train: 12, val: 4); 1 left out of training; 0 problem(s), 1 warning(s)"
    )
    index = (tmp_path / "results" / "faults" / "validated_index" / "image_labels.csv").read_text()
    assert "train_0009" not in index and index.count("\n") == 16


def test_empty_label_sets_are_an_error_when_configured(tmp_path: Path) -> None:
    _set_labels(folder_dataset(tmp_path), {"train_0009": ""}, [])
    status, output = snakemake(tmp_path, "validate", config=merge(FOLDER, {"dataset": {"empty_labels": "error"}}))
    assert status != 0
    assert "data/image_labels.csv: image 'train_0009' of split 'train' has no class label (dataset.empty_labels: error)" in output


def test_an_empty_image_list_is_named(tmp_path: Path) -> None:
    root = folder_dataset(tmp_path)
    (root / "image_labels.csv").write_text("image_id,split,labels\n")
    status, output = snakemake(tmp_path, "validate")
    assert status != 0
    assert "data/image_labels.csv: no image in split 'train' (splits present: [])" in output


def test_an_unknown_top_level_config_key_is_named(tmp_path: Path) -> None:
    folder_dataset(tmp_path)
    status, output = snakemake(tmp_path, "-n", "validate", config={**FOLDER, "shard": 4})
    assert status != 0
    assert "unknown config key 'shard' (did you mean 'shards'?)" in output


def test_a_threshold_above_one_is_named(tmp_path: Path) -> None:
    folder_dataset(tmp_path)
    status, output = snakemake(tmp_path, "-n", "validate", config=merge(FOLDER, {"labels": {"saliency_fg_threshold": 1.5}}))
    assert status != 0
    assert "1.5 is greater than the maximum of 1" in output and "saliency_fg_threshold" in output


def test_a_checkpoint_that_is_not_a_torch_file_is_named(tmp_path: Path) -> None:
    folder_dataset(tmp_path)
    config = merge(FOLDER, {"guidance": {"method": "classical", "dir": None}})
    status, output = snakemake(tmp_path, "validate", config=config)
    assert status == 0, output[-4000:]
    checkpoint = tmp_path / "results" / "faults" / "checkpoints" / "classifier.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_text("weights? no.\n")
    status, output = snakemake(tmp_path, "results/faults/shards/cams/0-of-1.h5", "--allowed-rules", "dump_cams", config=config)
    assert status != 0
    assert f"{checkpoint.relative_to(tmp_path)}: not a readable torch checkpoint (" in output
    assert not (tmp_path / "results" / "faults" / "shards" / "cams" / "0-of-1.h5").exists()


# --- interruption: SIGKILL of the whole Snakemake process group, then --rerun-incomplete -------------

KILLS = int(os.environ.get("WSSS_KILLS", "5"))  # >= 20 for the manual run (see docs/troubleshooting.md)


def _corrupt_outputs(run: Path) -> list[str]:
    """Outputs under ``run`` (results/<run>) that a later rule would read but that are partial or unreadable."""
    bad = []
    for path in sorted(run.rglob("*")):
        relative = path.relative_to(run)
        if not path.is_file() or relative.parts[0] in RUN_SPECIFIC or any(p.startswith(".") for p in relative.parts):
            continue  # logs, benchmarks, shard parts, and hidden temporary siblings no rule reads
        try:
            if path.suffix == ".png":
                Image.open(path).load()
            elif path.suffix == ".h5":
                with read_store(path):
                    pass
            elif path.suffix == ".pt":
                load_checkpoint(path)
            elif path.suffix == ".csv":
                pd.read_csv(path)
        except Exception as err:  # noqa: BLE001 - any failure to read counts
            bad.append(f"{relative}: {err}")
    return bad


def _start(workdir: Path, attempt: int, *args: str) -> subprocess.Popen:
    """Snakemake in its own process group (the group is what gets killed); its output goes to ``attempt-<n>.txt``."""
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", *args]
    with (workdir / f"attempt-{attempt}.txt").open("w") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def test_sigkill_at_random_moments_then_rerun_incomplete_ends_with_the_uninterrupted_outputs(
    finished_run: Path, tmp_path: Path
) -> None:
    config = ["--configfile", str(write_config(tmp_path / "tiny.yaml", TINY))]
    # tenths of a second after each (re)start: Snakemake itself starts in about 2 s, the tiny DAG runs about
    # 30 s; the more kills, the sooner each comes, so that all of them land before the run ends
    moments = random.Random(12).choices(range(25, max(40, 100 - 3 * KILLS)), k=KILLS)
    kills, corrupt_found = 0, []
    for attempt, moment in enumerate(moments):
        process = _start(tmp_path, attempt, "--rerun-incomplete", *config)
        try:
            status = process.wait(timeout=moment / 10)
            assert status == 0, (tmp_path / f"attempt-{attempt}.txt").read_text()[-4000:]
            break  # the run finished before this moment: nothing left to interrupt
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            kills += 1
        corrupt_found += _corrupt_outputs(tmp_path / "results" / "tiny")
        subprocess.run([*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--unlock", *config],
                       capture_output=True, timeout=120, check=True)  # fmt: skip
    final = _start(tmp_path, len(moments), "--rerun-incomplete", *config)
    assert final.wait(timeout=900) == 0, (tmp_path / f"attempt-{len(moments)}.txt").read_text()[-4000:]
    assert kills >= min(KILLS, 5), f"only {kills} kills landed before the run ended"
    assert corrupt_found == []
    run, reference = tmp_path / "results" / "tiny", finished_run / "results" / "tiny"
    assert compare_runs(reference, run) == []
    for table in sorted((reference / "metrics").glob("*.csv")):
        assert (run / "metrics" / table.name).read_bytes() == table.read_bytes(), table.name
    print(f"kills {kills}, resumes {kills}, corrupt outputs found {len(corrupt_found)}, mismatching outputs 0")
