"""Helpers of the benchmark scripts: the baseline revision, the shared VOC sample, timing and tables.

Every benchmark measures today's behaviour and the new one in the same run
and prints ratios. Today's behaviour is the library of a pinned revision
(``--baseline``, default :data:`BASELINE_REVISION`), exported from git into a
temporary directory and imported in a subprocess, so it runs unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BASELINE_REVISION = "289f241"  # main before the performance work
SAMPLE = REPO.parent / "shared" / "data" / "voc12_sample"


def arguments(description: str, *, sample: bool = True) -> argparse.ArgumentParser:
    """The common command line: ``--baseline REV``, ``--sample DIR``, ``--threads N``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--baseline", default=BASELINE_REVISION, help="git revision of today's behaviour")
    if sample:
        parser.add_argument("--sample", type=Path, default=SAMPLE, help="the shared VOC sample (JPEGImages/, ...)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads / worker processes")
    return parser


@contextlib.contextmanager
def baseline_tree(revision: str) -> Iterator[Path]:
    """The checkout of ``revision`` (its ``wsss_core`` and ``Snakefile``) in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="wsss-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", revision], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def run_snippet(code: str, *, root: Path, threads: int, timeout: int = 3600) -> dict:
    """Run Python ``code`` with the ``wsss_core`` of ``root`` first on the path; it prints one JSON object last."""
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": str(threads)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout, cwd=root
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark snippet failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def stopwatch(into: dict, key: str) -> Iterator[None]:
    """Add the wall seconds and CPU seconds of the block to ``into[key]`` / ``into[key + '_cpu']``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    yield
    into[key] = into.get(key, 0.0) + time.perf_counter() - wall
    into[f"{key}_cpu"] = into.get(f"{key}_cpu", 0.0) + cpu_seconds() - cpu


def merge_config(base: dict, override: dict) -> dict:
    """``base`` with the keys of ``override`` replaced, nested sections merged (as Snakemake's --configfile)."""
    merged = dict(base)
    for key, value in override.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = merge_config(base[key], value) if nested else value
    return merged


def load_config(config_file: Path | None) -> dict:
    """The configuration of a run of ``config_file`` (``None``: the defaults alone), as the workflow makes it
    (each stage's section holds its effective training settings)."""
    from wsss_core.doctor import load_config as workflow_config

    config, problems = workflow_config([config_file] if config_file else [], [])
    if problems:
        raise SystemExit("\n".join(problems))
    return config


def table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A Markdown table of ``rows``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def header(title: str) -> None:
    """Print the title with the date and the machine (CPU model, cores)."""
    models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line]
    cpu = models[0] if models else "unknown CPU"
    print(f"## {title}\n\n{time.strftime('%Y-%m-%d')}, {cpu}, {os.cpu_count()} cores\n")


def foreground_counts(mask: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> tuple[int, int, int]:
    """(intersection, union, foreground) pixel counts of boolean ``mask`` against ``truth`` inside ``valid``."""
    return int((mask & truth & valid).sum()), int(((mask | truth) & valid).sum()), int((mask & valid).sum())
