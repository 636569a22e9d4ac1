"""A run's settings as layers: each stage's effective settings and their sources, shadowing, `wsss config`.

config.yaml gives every stage complete settings; a later layer's shared
``train:`` reaches every stage, whatever config.yaml gives a stage of its own;
among your layers a stage's own value wins, and a warning names both files
when it comes from an earlier one than the shared value it overrides.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from workflow_helpers import REPO, SNAKEMAKE, TINY, write_config

from wsss_core.config_layers import COMMAND_LINE, DEFAULTS, STAGE_SECTIONS, Layer, resolve_stages, shadowed_settings, stage_settings
from wsss_core.cli import main
from wsss_core.doctor import load_config, load_layers, merged_config
from wsss_core.io import InputError

PAPER = REPO / "configs" / "voc12_paper.yaml"


def test_a_later_files_shared_lr_reaches_the_stage_config_yaml_gives_its_own() -> None:
    """config.yaml's retrain.train.lr (the demo's 0.01) does not shadow the paper config's train.lr."""
    layers = load_layers([PAPER], [])
    retrain = stage_settings(layers, "retrain")
    assert retrain["lr"].value == 0.001 and retrain["lr"].source == "configs/voc12_paper.yaml: train.lr"
    config, problems = merged_config(layers)
    assert problems == [] and config["retrain"]["train"]["lr"] == 0.001
    assert shadowed_settings(layers) == []
    # the defaults alone keep the demo's own retrain lr
    assert load_config([], [])[0]["retrain"]["train"]["lr"] == 0.01


def test_every_stage_gets_complete_settings_from_the_defaults() -> None:
    config, _ = load_config([], [])
    fields = set(config["train"]) | {"epochs"}
    for stage, sections in STAGE_SECTIONS.items():
        node = config
        for part in sections[-1].split("."):
            node = node[part]
        assert set(node) == fields, stage
    assert config["finetune"]["train"]["lr"] == 0.002 and config["finetune"]["train"]["epochs"] == 3


def test_train_epochs_of_your_file_reaches_every_stage(tmp_path: Path) -> None:
    mine = write_config(tmp_path / "mine.yaml", {"train": {"epochs": 2}, "joint": {"train": {"epochs": 5}}})
    config, problems = load_config([mine], [])
    assert problems == []
    epochs = {stage: config[stage]["train"]["epochs"] for stage in ("classifier", "joint", "retrain", "supervised", "sonet")}
    assert epochs == {"classifier": 2, "joint": 5, "retrain": 2, "supervised": 2, "sonet": 2}


def test_an_earlier_files_stage_value_shadows_a_later_shared_one_with_a_warning_naming_both(tmp_path: Path) -> None:
    first = write_config(tmp_path / "first.yaml", {"retrain": {"train": {"lr": 0.0025}}})
    second = write_config(tmp_path / "second.yaml", {"train": {"lr": 0.001}})
    layers = load_layers([first, second], [])
    assert stage_settings(layers, "retrain")["lr"].value == 0.0025
    assert stage_settings(layers, "joint")["lr"].value == 0.001
    warnings = shadowed_settings(layers)
    assert len(warnings) == 1
    assert str(second) in warnings[0] and str(first) in warnings[0]
    assert warnings[0].startswith("train.lr = 0.001 of ") and "retrain.train.lr = 0.0025" in warnings[0]
    # the same file order reversed: the later stage value wins, and nothing is shadowed
    assert shadowed_settings(load_layers([second, first], [])) == []
    # the --config items are the last layer
    command_line = [*load_layers([first], []), Layer(COMMAND_LINE, {"train": {"lr": 0.001}})]
    assert shadowed_settings(command_line)[0].startswith("train.lr = 0.001 of --config does not reach retrain")


def test_finetune_inherits_sonet_train_before_its_own() -> None:
    layers = [
        Layer(DEFAULTS, {"train": {"lr": 0.02}, "sonet": {"train": {"lr": 0.005}}, "finetune": {"train": {"lr": 0.002}}}),
        Layer("mine.yaml", {"sonet": {"train": {"lr": 0.01}}}),
    ]
    assert stage_settings(layers, "finetune")["lr"].source == "mine.yaml: sonet.train.lr"
    config = resolve_stages({"finetune": {"train": {}}}, layers)
    assert config["finetune"]["train"] == {"lr": 0.01}


def test_the_defaults_file_given_again_stays_the_defaults(tmp_path: Path) -> None:
    mine = write_config(tmp_path / "mine.yaml", {"train": {"lr": 0.005}})
    layers = load_layers([REPO / "config.yaml", mine], [])
    assert [layer.name for layer in layers][1:] == [str(mine)] and layers[0].name == DEFAULTS
    assert stage_settings(layers, "retrain")["lr"].value == 0.005


def test_a_missing_or_malformed_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nowhere.yaml: config file not found"):
        load_layers([tmp_path / "nowhere.yaml"], [])
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(InputError, match="list.yaml: a config file holds a mapping of keys, not a list"):
        load_layers([listed], [])


def _wsss(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    """`wsss ARGS` run from the checkout: (exit status, stdout, stderr)."""
    monkeypatch.chdir(REPO)
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_wsss_config_shows_each_stages_settings_with_their_sources(capsys, monkeypatch) -> None:
    status, out, err = _wsss(capsys, monkeypatch, "config", "--configfile", "configs/voc12_paper.yaml")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "layers (a later one wins): config.yaml < configs/voc12_paper.yaml"
    stage = lines.index("  retrain")
    retrain = lines[stage + 1 : lines.index("  supervised")]
    assert any(line.split() == ["lr", "0.001", "configs/voc12_paper.yaml:", "train.lr"] for line in retrain), retrain
    assert any(line.split() == ["epochs", "15", "configs/voc12_paper.yaml:", "retrain.train.epochs"] for line in retrain)
    assert any(line.split()[:2] == ["crf.class_agnostic.iterations", "1"] for line in lines)
    assert any(line.split() == ["joint.init", "classifier", "config.yaml"] for line in lines)


def test_wsss_config_diff_lists_the_settings_that_differ(capsys, monkeypatch) -> None:
    status, out, err = _wsss(capsys, monkeypatch, "config", "--configfile", "configs/voc12_paper.yaml", "--diff", "configs/coco14_paper.yaml")
    assert status == 0, err
    differing = {line.split()[0] for line in out.splitlines()[2:]}
    assert {"run", "dataset.kind", "dataset.train_split", "data_root"} <= differing
    assert not any(key.startswith(("retrain.train.", "model.")) for key in differing)
    _, same, _ = _wsss(capsys, monkeypatch, "config", "--configfile", "configs/voc12_paper.yaml", "--diff", "configs/voc12_paper.yaml")
    assert same.splitlines()[-1] == "no setting differs"


def test_wsss_config_names_a_missing_file_in_one_line(capsys, monkeypatch) -> None:
    status, _, err = _wsss(capsys, monkeypatch, "config", "--configfile", "configs/nowhere.yaml")
    assert status == 2 and err.strip() == "wsss: error: configs/nowhere.yaml: config file not found"


def test_the_workflow_warns_of_a_shadowed_setting_before_any_job(tmp_path: Path) -> None:
    first = write_config(tmp_path / "first.yaml", {**TINY, "retrain": {"train": {"epochs": 1, "lr": 0.0025}}})
    second = write_config(tmp_path / "second.yaml", {"train": {"lr": 0.001}})
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "-n", "--configfile", str(first), str(second)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    # the files named as given, relative to the working directory (-d)
    assert "pre-flight warning: train.lr = 0.001 of second.yaml does not reach retrain" in output
    assert "retrain.train.lr = 0.0025 of the earlier first.yaml wins" in output
