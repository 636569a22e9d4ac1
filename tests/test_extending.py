"""Using the workflow as a Snakemake module from a directory of its own: the manual's extending example.

examples/eroded_labels is a user's directory: a Snakefile with ``module wsss:``
(snakefile: this checkout's Snakefile, config: the workflow's part of its
config) and ``use rule * from wsss``, plus one rule and one package of its own.
Run from a copy in a temporary directory, it runs the demo DAG (in miniature) end
to end and scores its variant with the workflow's own evaluation rule.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from workflow_helpers import REPO, SNAKEMAKE, TINY, job_counts, write_config

from wsss_core.io import IGNORE_LABEL, read_label_map

EXAMPLE = REPO / "examples" / "eroded_labels"
sys.path.insert(0, str(EXAMPLE))

from eroded_labels import erode_objects  # noqa: E402  (the example's package, next to its Snakefile)

LABEL_MAPS = arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.sampled_from([0, 1, 2, 7, IGNORE_LABEL]))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(labels=LABEL_MAPS, radius=st.integers(0, 4))
def test_erosion_only_ignores_object_pixels(labels: np.ndarray, radius: int) -> None:
    eroded = erode_objects(labels, radius)
    changed = eroded != labels
    assert eroded.shape == labels.shape and eroded.dtype == labels.dtype
    assert np.all(eroded[changed] == IGNORE_LABEL)
    assert np.all((labels[changed] != 0) & (labels[changed] != IGNORE_LABEL)), "background or ignored pixels changed"
    if radius == 0:
        assert not changed.any()


def test_erosion_ignores_the_border_ring_and_keeps_the_interior() -> None:
    labels = np.zeros((20, 20), np.uint8)
    labels[5:15, 5:15] = 3
    eroded = erode_objects(labels, 2)
    assert np.all(eroded[7:13, 7:13] == 3)
    assert np.all(eroded[5:15, 5:7] == IGNORE_LABEL) and np.all(eroded[5:7, 5:15] == IGNORE_LABEL)
    assert np.all(eroded[labels == 0] == 0)


def test_the_example_runs_the_workflow_as_a_module_from_its_own_directory(tmp_path: Path) -> None:
    example = tmp_path / "eroded_labels"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("__pycache__", "results", ".snakemake"))
    config = yaml.safe_load((example / "config.yaml").read_text())
    config["wsss_snakefile"] = str(REPO / "Snakefile")
    config["wsss"] = TINY
    write_config(example / "config.yaml", config)

    command = [*SNAKEMAKE, "all", "eroded", "--cores", "2", "--resources", "gpu=1", "--configfile", "config.yaml"]
    result = subprocess.run(command, cwd=example, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"

    # the whole demo DAG ran from the user's directory, with its results there
    jobs = job_counts(result.stderr + result.stdout)
    for rule in ("train_classifier", "train_joint", "refine_ctlr", "retrain", "evaluate", "erode_initial_labels", "evaluate_eroded_labels"):
        assert jobs.get(rule, 0) >= 1, f"rule {rule} did not run: {jobs}"
    run = example / "results" / TINY["run"]
    for table in ("pseudo_labels", "class_agnostic_labels", "segmentation", "ctlr_change", "eroded_labels"):
        assert (run / "metrics" / f"{table}.csv").is_file(), table
    assert not (REPO / "results" / TINY["run"]).exists(), "the module wrote into the checkout"

    # the variant's labels: each map the initial one with object border pixels ignored (the tiny
    # classifier's labels may hold no object at all; the ring itself is tested above)
    initial, eroded = run / "labels" / "initial_pcam", run / "labels" / "eroded_pcam"
    names = sorted(path.name for path in initial.glob("*.png"))
    assert names and names == sorted(path.name for path in eroded.glob("*.png"))
    for name in names:
        before, after = read_label_map(initial / name), read_label_map(eroded / name)
        kept = after != IGNORE_LABEL
        assert np.array_equal(after[kept], before[kept]), name
        assert np.array_equal(after, erode_objects(before, config["erode"]["radius"])), name

    # scored beside the original by the workflow's evaluation rule: no more pixels labelled
    table = pd.read_csv(run / "metrics" / "eroded_labels.csv").set_index("labels")
    assert list(table.index) == ["pCAM-initial", "pCAM-initial eroded by 2 px"]
    assert table.loc["pCAM-initial eroded by 2 px", "coverage"] <= table.loc["pCAM-initial", "coverage"]
    assert table[["mIoU", "mIoU_labelled", "coverage"]].apply(lambda column: column.between(0, 100)).all().all()
