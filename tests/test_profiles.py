"""The Snakemake profiles: the SLURM profile sends every GPU rule to the GPU partition and no other rule."""

from __future__ import annotations

import re

import yaml
from workflow_helpers import REPO

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"


def gpu_rules() -> set[str]:
    """The rules of rules/*.smk that request a GPU (``gpu=`` in their resources), ``use rule ... as`` copies included."""
    blocks: dict[str, tuple[str | None, str]] = {}  # rule: (the rule it copies, its own text)
    for path in (REPO / "rules").glob("*.smk"):
        parts = re.split(r"^\s*(?=rule \w+:|use rule \w+ as \w+ with:)", path.read_text(), flags=re.MULTILINE)
        for part in parts:
            plain, copy = re.match(r"rule (\w+):", part), re.match(r"use rule (\w+) as (\w+) with:", part)
            if plain:
                blocks[plain.group(1)] = (None, part)
            elif copy:
                blocks[copy.group(2)] = (copy.group(1), part)

    def requests_gpu(rule: str) -> bool:
        base, text = blocks[rule]
        return "gpu=" in text or (base is not None and requests_gpu(base))

    return {rule for rule in blocks if requests_gpu(rule)}


def test_the_slurm_profile_sends_exactly_the_gpu_rules_to_the_gpu_partition() -> None:
    profile = yaml.safe_load(PROFILE.read_text())
    cpu_partition = profile["default-resources"]["slurm_partition"]
    partition_of = {rule: resources.get("slurm_partition", cpu_partition) for rule, resources in profile["set-resources"].items()}
    gpu_partition = partition_of["train_classifier"]
    assert gpu_partition != cpu_partition
    expected = gpu_rules()
    assert {"train_classifier", "dump_cams", "predict", "predict_train", "objectness_maps", "finetune_sonet"} <= expected
    assert {rule for rule, partition in partition_of.items() if partition == gpu_partition} == expected
    # the GPU partition is written once: every other GPU rule refers to it
    assert PROFILE.read_text().count(f"&gpu_partition {gpu_partition}") == 1
