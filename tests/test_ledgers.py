"""Every paper config runs what its settings ledger says: each effective setting against its entry.

Each config in configs/ but the CPU-sized sample has a ledger in configs/ledgers/
(every setting the paper states with where, every one it leaves open with its
source). The config is resolved as the workflow resolves it (config.yaml, then
the file; each stage's settings as its training rule receives them); a setting
whose value differs from its entry, or that has no entry, fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import REPO

from wsss_core.doctor import load_config
from wsss_core.ledger import ledger_problems, ledger_table, read_ledger

CONFIGS = REPO / "configs"
LEDGERS = CONFIGS / "ledgers"
NOT_A_PAPER_CONFIG = {"voc12_sample"}  # 300 photos on a CPU: no paper ran it
PAPER_CONFIGS = sorted(path.stem for path in CONFIGS.glob("*.yaml") if path.stem not in NOT_A_PAPER_CONFIG)


def test_every_paper_config_has_a_ledger() -> None:
    assert PAPER_CONFIGS and {path.stem for path in LEDGERS.glob("*.yaml")} == set(PAPER_CONFIGS)


@pytest.mark.parametrize("name", PAPER_CONFIGS)
def test_the_effective_settings_are_those_of_the_ledger(name: str) -> None:
    config, problems = load_config([CONFIGS / f"{name}.yaml"], [])
    assert problems == []
    ledger = read_ledger(LEDGERS / f"{name}.yaml")
    assert ledger["config"] == f"{name}.yaml"
    assert ledger_problems(ledger, config) == []


def test_a_changed_setting_and_a_missing_entry_fail(tmp_path: Path) -> None:
    """The check can fail: an lr the ledger does not hold, for one stage; a setting without an entry."""
    config, _ = load_config([CONFIGS / "voc12_paper.yaml"], [])
    ledger = read_ledger(LEDGERS / "voc12_paper.yaml")
    config["retrain"]["train"]["lr"] = 0.01
    del ledger["settings"]["train.seed"]
    assert ledger_problems(ledger, config) == [
        "classifier.train.seed: no ledger entry (effective value 0)",
        "joint.train.seed: no ledger entry (effective value 0)",
        "retrain.train.lr: effective value 0.01, ledger 0.001 (train.lr)",
        "retrain.train.seed: no ledger entry (effective value 0)",
        "supervised.train.seed: no ledger entry (effective value 0)",
    ]


def test_an_entry_says_where_its_value_comes_from() -> None:
    ledger = {"settings": {"train.lr": {"value": 0.001}, "train.seed": {"value": 0, "source": "a hunch", "evidence": "none"}}}
    config, _ = load_config([CONFIGS / "voc12_paper.yaml"], [])
    problems = ledger_problems(ledger, config)
    assert "train.lr: an entry says where the paper states it (stated) or where it comes from (source), one of them" in problems
    assert "train.seed: source is one of authors' code, common practice, our choice, with its evidence" in problems


def test_the_ledgers_render_as_one_table_per_paper() -> None:
    ledgers = {name: read_ledger(LEDGERS / f"{name}.yaml") for name in ("voc12_paper", "coco14_paper")}
    lines = ledger_table(ledgers)
    assert lines[0] == "| setting | `voc12_paper` | `coco14_paper` | where it comes from |"
    momentum = next(line for line in lines if line.startswith("| `train.momentum` |"))
    assert "| 1e-05 | 1e-05 | authors' code: tool/torchutils.py:37" in momentum
    split = next(line for line in lines if line.startswith("| `dataset.train_split` |"))
    assert "| train_aug | train | voc12_paper: stated: Sec. 4.1.1" in split and "coco14_paper: stated: Sec. 4.1.1: the 80K" in split
