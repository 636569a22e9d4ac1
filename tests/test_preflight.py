"""Pre-flight: what a config names outside results/ is checked when the workflow starts, before any job.

One test per problem on :func:`wsss_core.preflight.preflight` (the merged config
as the Snakefile validates it), then all of them at once through Snakemake: one
message, one line each, and no job started.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
import yaml
from snakemake.utils import validate
from workflow_helpers import REPO, RESNET38_WEIGHTS, SNAKEMAKE, empty_voc_tree, link_weights, merge, write_config

from wsss_core.doctor import load_config
from wsss_core.models.backbones import build_backbone
from wsss_core.preflight import class_map_warnings, preflight

SCHEMA = str(REPO / "schemas" / "config.schema.yaml")


def merged(override: dict) -> dict:
    """config.yaml with ``override`` layered on, validated and completed by the schema, as the Snakefile does."""
    config = merge(yaml.safe_load((REPO / "config.yaml").read_text()), override)
    validate(config, SCHEMA, set_default=True)
    return config


@pytest.fixture()
def voc(tmp_path: Path) -> dict:
    """A VOC-shaped tree (empty files) with precomputed saliency maps, as configs/voc12_paper.yaml reads it."""
    root = empty_voc_tree(tmp_path / "VOC2012")
    return {
        "data_root": str(root),
        "dataset": {"kind": "voc", "train_split": "train_aug", "eval_split": "val",
                    "splits": {"train_aug": "ImageSets/Segmentation/train_aug.txt", "val": "ImageSets/Segmentation/val.txt"}},
        "guidance": {"method": "precomputed", "dir": "saliency_dss"},
    }  # fmt: skip


def _tiny_weights(path: Path, width: int = 8) -> Path:
    torch.save(build_backbone("tiny", width=width).state_dict(), path)
    return path


def test_a_complete_tree_and_fitting_weights_pass(voc: dict, tmp_path: Path) -> None:
    weights = _tiny_weights(tmp_path / "tiny.pth")
    assert preflight(merged({**voc, "model": {"backbone": "tiny", "backbone_options": {"width": 8, "weights": str(weights)}}})) == []


def test_a_missing_weights_file_is_named(voc: dict, tmp_path: Path) -> None:
    missing = tmp_path / "ilsvrc-cls_rna-a1_cls1000_ep-0001.pth"
    problems = preflight(merged({**voc, "model": {"backbone": "resnet38", "backbone_options": {"weights": str(missing)}}}))
    assert problems == [
        f"{missing}: backbone weights not found (model.backbone_options.weights; psa's ImageNet file converted by "
        "`wsss convert-weights ilsvrc-cls_rna-a1_cls1000_ep-0001.params -o <path>`)"
    ]


def test_a_misspelt_backbone_option_is_named_with_the_option_meant(voc: dict) -> None:
    problems = preflight(merged({**voc, "model": {"backbone": "resnet38", "backbone_options": {"weight": "x.pth"}}}))
    assert problems == [
        "model.backbone_options.weight: not an option of backbone resnet38 (did you mean 'weights'? options: weights, frozen_bn, frozen_layers)"
    ]


def test_weights_of_another_network_are_named(voc: dict, tmp_path: Path) -> None:
    foreign = _tiny_weights(tmp_path / "foreign.pth")
    problems = preflight(merged({**voc, "model": {"backbone": "resnet38", "backbone_options": {"weights": str(foreign)}}}))
    assert len(problems) == 1
    assert problems[0].startswith(f"{foreign}: weights do not match backbone 'resnet38': missing keys [conv1a.weight")


def test_weights_of_the_wrong_shape_are_named(voc: dict, tmp_path: Path) -> None:
    narrow = _tiny_weights(tmp_path / "narrow.pth", width=8)
    problems = preflight(merged({**voc, "model": {"backbone": "tiny", "backbone_options": {"width": 16, "weights": str(narrow)}}}))
    assert len(problems) == 1
    assert problems[0].startswith(f"{narrow}: weights do not fit backbone 'tiny': layers.0.0.weight is (8, 3, 3, 3)")


def test_a_missing_guidance_directory_is_named(voc: dict) -> None:
    problems = preflight(merged({**voc, "guidance": {"method": "precomputed", "dir": "saliency_typo"}}))
    assert problems == [f"{voc['data_root']}/saliency_typo: guidance.dir (the precomputed saliency maps) not found"]


def test_a_missing_data_root_and_missing_parts_of_a_tree_are_named(voc: dict, tmp_path: Path) -> None:
    problems = preflight(merged({**voc, "data_root": str(tmp_path / "nowhere")}))
    assert problems == [f"{tmp_path / 'nowhere'}: data_root not found (the voc tree)"]
    (Path(voc["data_root"]) / "ImageSets" / "Segmentation" / "val.txt").unlink()
    problems = preflight(merged(voc))
    assert problems == [f"{voc['data_root']}/ImageSets/Segmentation/val.txt: id list of split 'val' not found"]


def test_an_objectness_source_without_a_class_map_is_a_warning(voc: dict, tmp_path: Path) -> None:
    source = tmp_path / "cocostuff"
    for folder in ("images/train2017", "annotations/train2017"):
        (source / folder).mkdir(parents=True)
    sonet = {**voc, "method": "sonet", "guidance": {"method": "objectness"},
             "objectness": {"source_kind": "coco_stuff", "source_root": str(source)}}  # fmt: skip
    assert preflight(merged(sonet)) == []
    warnings = class_map_warnings(merged(sonet))
    assert len(warnings) == 1
    assert "target class(es) aeroplane, diningtable, motorbike, pottedplant, sofa, tvmonitor are not class names" in warnings[0]
    assert class_map_warnings(merged(merge(sonet, {"objectness": {"class_map": "coco_to_voc"}}))) == []
    missing_source = preflight(merged(merge(sonet, {"objectness": {"source_root": str(tmp_path / "none")}})))
    assert missing_source == [f"{tmp_path / 'none'}: objectness.source_root not found (the coco_stuff source)"]


def _all_problems(tmp_path: Path) -> tuple[dict, list[str]]:
    """A config with five problems at once, and the lines that name them."""
    foreign = _tiny_weights(tmp_path / "foreign.pth")
    config = {
        "data_root": str(tmp_path / "nowhere"),
        "dataset": {"kind": "voc", "splits": {"train": "train.txt", "val": "val.txt"}},
        "guidance": {"method": "precomputed", "dir": str(tmp_path / "no_maps")},
        "model": {"backbone": "resnet38", "backbone_options": {"weight": "x.pth"}},
        "objectness": {"backbone_weights": str(tmp_path / "missing.pth")},
        "sonet": {"backbone_weights": str(foreign)},
    }
    lines = [
        f"{tmp_path / 'nowhere'}: data_root not found (the voc tree)",
        f"{tmp_path / 'no_maps'}: guidance.dir (the precomputed saliency maps) not found",
        "model.backbone_options.weight: not an option of backbone resnet38",
        f"{tmp_path / 'missing.pth'}: backbone weights not found (objectness.backbone_weights)",
        f"{foreign}: weights do not match the backbone of deeplabv3_mobilenet_v3_large",
    ]
    return config, lines


def test_every_problem_at_once_in_one_message_before_any_job(tmp_path: Path) -> None:
    config, lines = _all_problems(tmp_path)
    problems = preflight(merged(config))
    assert len(problems) == len(lines)
    for problem, line in zip(problems, lines):
        assert problem.startswith(line), (problem, line)

    workdir = tmp_path / "work"
    workdir.mkdir()
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2",
               "--configfile", str(write_config(tmp_path / "c.yaml", config))]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    message = output[output.index("pre-flight check: 5 problems, no job was started") :].splitlines()
    for problem, line in zip(message[1:6], lines):
        assert problem.startswith(line), (problem, line)
    assert not (workdir / "results").exists()


def test_the_voc_test_list_is_needed_by_voc_test_alone(
    tmp_path: Path, paper_weights: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """configs/voc12_paper.yaml on a tree without ImageSets/Segmentation/test.txt (the test download needs a
    registration): `all` and `supervised` start; `voc_test` names the missing list, in the doctor and in the workflow."""
    workdir = tmp_path / "work"
    link_weights(workdir, paper_weights, RESNET38_WEIGHTS)
    monkeypatch.chdir(workdir)  # where the config's weights file lies
    tree = empty_voc_tree(tmp_path / "VOC2012")
    test_list = tree / "ImageSets" / "Segmentation" / "test.txt"
    test_list.unlink()
    config = REPO / "configs" / "voc12_paper.yaml"
    merged_config, problems = load_config([config], [f"data_root={tree}"])
    assert problems == []
    assert preflight(merged_config, ["all", "supervised"]) == []
    assert preflight(merged_config, ["all", "voc_test"]) == [
        f"{test_list}: id list of split 'test' (target voc_test reads it; the test download has it) not found"
    ]
    command = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores", "2", "-n",
               "--configfile", str(config), "--config", f"data_root={tree}", "--"]  # fmt: skip
    planned = subprocess.run([*command, "all", "supervised"], capture_output=True, text=True, timeout=300)
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert "index_test_split" not in planned.stdout
    refused = subprocess.run([*command, "voc_test"], capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "index_test_split" in refused.stdout + refused.stderr
    assert str(test_list) in refused.stdout + refused.stderr


def test_a_holdout_of_a_dataset_kind_without_id_lists_is_refused(tmp_path: Path) -> None:
    """Only a voc dataset's id lists are split by dataset.holdout; a folder gives each image's split in image_labels.csv."""
    folder = tmp_path / "my_images"
    folder.mkdir()
    for name in ("classes.txt", "image_labels.csv"):
        (folder / name).touch()
    config = merged({"data_root": str(folder), "dataset": {"kind": "folder", "holdout": {"from": "train", "to": "val", "fraction": 0.2}}})
    assert preflight(config) == [
        "dataset.holdout: only a voc dataset takes one (a folder dataset gives each image's split itself: the split column of image_labels.csv)"
    ]
    config["dataset"]["holdout"] = None
    assert preflight(config) == []
