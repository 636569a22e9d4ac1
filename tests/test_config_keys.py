"""Unknown config keys are named, with the nearest known key, before the schema check runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from workflow_helpers import REPO, SNAKEMAKE, write_config

from wsss_core.config_keys import config_problems

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def test_the_shipped_config_has_no_unknown_key() -> None:
    assert config_problems(CONFIG, SCHEMA) == []


def test_unknown_top_level_key_suggests_the_nearest() -> None:
    assert config_problems({**CONFIG, "shard": 4}, SCHEMA) == ["unknown config key 'shard' (did you mean 'shards'?)"]


def test_unknown_keys_at_every_depth_are_all_listed() -> None:
    config = {
        "labels": {"pcam_fg_treshold": 0.8},
        "joint": {"train": {"epoch": 3}},  # through $ref to the stage and train definitions
        "crf": {"postprocess": {"iteratoins": 3}},
        "zzz": 1,
    }
    assert config_problems(config, SCHEMA) == [
        "unknown config key 'labels.pcam_fg_treshold' (did you mean 'labels.pcam_fg_threshold'?)",
        "unknown config key 'joint.train.epoch' (did you mean 'joint.train.epochs'?)",
        "unknown config key 'crf.postprocess.iteratoins' (did you mean 'crf.postprocess.iterations'?)",
        "unknown config key 'zzz' (known keys here: " + ", ".join(sorted(SCHEMA["properties"])) + ")",
    ]


def test_free_form_sections_are_not_checked() -> None:
    config = {"dataset": {"splits": {"anything": "list.txt"}}, "model": {"backbone_options": {"width": 8}}}
    assert config_problems(config, SCHEMA) == []


def test_the_workflow_stops_at_start_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path / "typo.yaml", {"shard": 4, "labels": {"saliency_fg_treshold": 0.4}})
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n", "--configfile", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unknown config key 'shard' (did you mean 'shards'?)" in output
    assert "unknown config key 'labels.saliency_fg_treshold' (did you mean 'labels.saliency_fg_threshold'?)" in output
