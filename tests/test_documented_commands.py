"""Every command line quoted in README.md, the manual (docs/*.md), configs/README.md and the headers of configs/*.yaml works as written.

The documents' shell blocks run as bash scripts in a scratch working directory
that mirrors the repository's (config.yaml, configs/, profiles/, .venv), with
``snakemake`` turned into a dry run of this workflow and ``make`` into
``make -n`` (``--report FILE``, which packs finished outputs, is left out
of the dry run; in a directory with a Snakefile of its own, the extending example, that
Snakefile runs with this checkout as its module). Data paths (``data_root=/data/<name>``, the sample's
``data/voc12_sample``) point at trees of empty files of the right
layout, so the dry runs plan the whole DAG without the data.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workflow_helpers import (
    REPO,
    RESNET38_WEIGHTS,
    RESNET50_WEIGHTS,
    RESNET101_WEIGHTS,
    empty_cityscapes_tree,
    empty_coco_tree,
    empty_openimages_tree,
    empty_voc_tree,
    link_weights,
)

from wsss_core.data.synthetic import generate_dataset
from wsss_core.io import write_gray

# the documents whose commands are checked: the README, the manual's pages and the page of the shipped configs
DOCUMENTS = {
    path.relative_to(REPO).as_posix(): path.read_text()
    for path in (REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "configs" / "README.md")
}
COMMAND = re.compile(r"^\s*(snakemake|make|wsss)\b")

# bash prelude of every script: the documented programs, as dry runs of this checkout
PRELUDE = """
set -euo pipefail
snakemake() {
    local args=() skip=0
    for arg in "$@"; do
        if [ "$skip" = 1 ]; then skip=0; continue; fi
        case "$arg" in
            data_root=/data/*) args+=("data_root=$DATA/${arg##*/}") ;;
            --report) skip=1 ;;  # packing a report reads finished outputs: dry-run the rest of the line
            *) args+=("$arg") ;;
        esac
    done
    if [ -f Snakefile ]; then  # a directory of one's own that uses the workflow as a module
        args+=(--config "wsss_snakefile=$REPO/Snakefile"); "$PYTHON" -m snakemake "${args[@]}" -n --quiet rules
    else
        "$PYTHON" -m snakemake -s "$REPO/Snakefile" "${args[@]}" -n --quiet rules
    fi
}
make() { command make -n -C "$REPO" "$@" >/dev/null; }
wsss() { "$PYTHON" -m wsss_core.cli "$@" --help >/dev/null; }
"""


def _readme_blocks() -> list[str]:
    """The fenced shell blocks of the documents that run a documented program."""
    blocks = [block for text in DOCUMENTS.values() for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.DOTALL)]
    return list(dict.fromkeys(block for block in blocks if any(COMMAND.match(line) for line in block.splitlines())))  # each once


def _inline_commands() -> list[str]:
    """Commands quoted inline (`snakemake ...`) in the documents' prose.

    ``snakemake --lint`` is left to tests/test_pipeline.py: it exits 1 with the
    one finding the README documents, which that test asserts.
    """
    prose = re.sub(r"```.*?```", "", "\n".join(DOCUMENTS.values()), flags=re.DOTALL)
    return list(dict.fromkeys(command for command in re.findall(r"`((?:snakemake|make) [^`]*)`", prose) if "--lint" not in command))


def _config_commands() -> list[str]:
    """The command lines in the comment headers of configs/*.yaml."""
    lines = []
    for config in sorted((REPO / "configs").glob("*.yaml")):
        lines += [line.lstrip("# ").rstrip() for line in config.read_text().splitlines() if re.match(r"^#\s+snakemake\b", line)]
    return lines


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, paper_weights: dict[str, Path]) -> Path:
    """A scratch working directory laid out like the repository, next to empty data trees, with the paper configs' weights files."""
    root = tmp_path_factory.mktemp("documented")
    work = root / "work"
    work.mkdir()
    for name in ("config.yaml", "configs", "profiles"):
        (work / name).symlink_to(REPO / name)
    shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns("__pycache__", ".snakemake", "results"))
    (work / ".venv").symlink_to(sys.prefix)
    data = root / "data"
    empty_voc_tree(data / "VOC2012")
    empty_coco_tree(data / "coco2014")
    empty_cityscapes_tree(data / "cityscapes")
    empty_openimages_tree(data / "openimages")
    generate_dataset(data / "my_images", num_train=6, num_val=2, image_size=32, seed=0, num_classes=6, num_source=0)
    for image in (data / "my_images" / "images").glob("*.png"):  # docs/own-data.md: guidance.dir saliency/
        write_gray(data / "my_images" / "saliency" / image.name, np.full((32, 32), 128, np.uint8))
    for folder in ("images/train2017", "annotations/train2017"):  # the paper SONet configs' objectness.source_root
        (work / "data" / "cocostuff" / folder).mkdir(parents=True)
    link_weights(work, paper_weights, RESNET38_WEIGHTS, RESNET50_WEIGHTS, RESNET101_WEIGHTS)
    empty_voc_tree(work / "data" / "VOC2012")  # configs/openimages_to_voc12_sonet.yaml: eval_dataset.data_root
    sample = empty_voc_tree(work / "data" / "voc12_sample")  # configs/voc12_sample.yaml: data/voc12_sample
    (sample / "train.txt").write_text((sample / "ImageSets" / "Segmentation" / "train.txt").read_text())  # the sample's id list
    return work


def _run(script: str, workdir: Path) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "PYTHON": sys.executable, "REPO": str(REPO)}
    environment["DATA"] = str(workdir.parent / "data")
    return subprocess.run(["bash", "-c", PRELUDE + script], cwd=workdir, env=environment, capture_output=True, text=True, timeout=600)


def test_the_documentation_quotes_commands() -> None:
    assert len(_readme_blocks()) >= 5 and len(_inline_commands()) >= 5 and len(_config_commands()) >= 3


@pytest.mark.parametrize("block", _readme_blocks(), ids=lambda block: next(filter(COMMAND.match, block.splitlines())).strip()[:60])
def test_readme_block_runs_as_written(block: str, workdir: Path) -> None:
    result = _run(block, workdir)
    assert result.returncode == 0, f"{block}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


@pytest.mark.parametrize("command", _inline_commands() + _config_commands())
def test_quoted_command_runs_as_written(command: str, workdir: Path) -> None:
    first = command.split("|", 1)[0]  # `snakemake --dag | dot ...`: the workflow's part of a pipe
    result = _run(shlex.join(shlex.split(first, comments=True)), workdir)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_the_documented_predict_options_exist() -> None:
    section = re.search(r"^## `wsss predict`.*?(?=^## )", DOCUMENTS["docs/cli.md"], flags=re.DOTALL | re.MULTILINE).group(0)
    help_text = subprocess.run([sys.executable, "-m", "wsss_core.cli", "predict", "--help"], capture_output=True, text=True, check=True).stdout
    options = set(re.findall(r"--[\w-]+|\s-o\b", section))
    assert options
    for option in options:
        assert re.search(rf"(^|\s|\[){re.escape(option.strip())}\b", help_text), f"{option} named in docs/cli.md, not in `wsss predict --help`"
