"""Pre-flight: everything a run's configuration names outside ``results/``, checked before any job starts.

:func:`preflight` takes the merged configuration (defaults filled in) and
returns every problem it finds, one ``path: problem`` line each (the format
of ``validation.txt``):

* a ``holdout`` of a dataset kind that takes none (only ``voc`` does);
* the dataset trees (``data_root``, ``eval_dataset.data_root``) and the
  directories and list files their ``splits`` name (:mod:`wsss_core.data.layout`;
  the VOC test list only for target ``voc_test``);
* the guidance: a precomputed map directory, an ONNX model file;
* the objectness network's source tree (``objectness.source_root``);
* ``model.backbone_options``: options the backbone has, and a weights file
  that exists and fits the backbone (keys and shapes; the file is memory-mapped,
  not loaded); likewise ``objectness.backbone_weights`` and ``sonet.backbone_weights``.

:func:`class_map_warnings` warns when an objectness run leaves
``objectness.class_map`` empty although target classes are not named as in
the source. The contents of the trees (every image, mask, map) are checked by
rule ``validate_inputs``; whether a GPU is there, by
:func:`wsss_core.engine.device.device_problem`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from wsss_core.data.class_names import COCO_THING_NAMES, dataset_class_names, normalise_name
from wsss_core.data.layout import layout_problems, objectness_source_problems


def _under(data_root: str | None, path: str) -> str:
    """``path`` under ``data_root`` unless absolute (the workflow's data_path)."""
    return os.path.join(data_root or "", path)


def _datasets(config: Mapping[str, Any], test: bool) -> list[str]:
    problems = []
    evaluated_here = config["eval_dataset"]["kind"] is None
    problems += layout_problems(
        config["dataset"]["kind"], config["data_root"], config["dataset"], what="data_root",
        evaluated_split=config["dataset"]["eval_split"] if evaluated_here else None, test=test and evaluated_here,
    )  # fmt: skip
    if not evaluated_here:
        section = config["eval_dataset"]
        problems += layout_problems(
            section["kind"], section["data_root"], section, what="eval_dataset.data_root",
            evaluated_split=section["eval_split"], test=test,
        )  # fmt: skip
    return problems


def _holdouts(config: Mapping[str, Any]) -> list[str]:
    """A holdout of a dataset whose kind has none: only a voc dataset's id lists are split by ``holdout``."""
    return [
        f"{name}.holdout: only a voc dataset takes one (a {config[name]['kind']} dataset gives each image's split itself"
        + (": the split column of image_labels.csv)" if config[name]["kind"] == "folder" else ")")
        for name in ("dataset", "eval_dataset")
        if config[name].get("holdout") and config[name]["kind"] not in (None, "voc")
    ]


def _guidance(config: Mapping[str, Any]) -> list[str]:
    guidance = config["guidance"]
    if guidance["method"] == "precomputed":
        directory = _under(config["data_root"], guidance["dir"])
        root_missing = not os.path.isabs(guidance["dir"]) and not os.path.isdir(config["data_root"] or ".")
        if not root_missing and not os.path.isdir(directory):  # under a missing data_root: that is the problem
            return [f"{directory}: guidance.dir (the precomputed saliency maps) not found"]
    if guidance["method"] == "onnx" and not os.path.isfile(guidance["onnx"]["model"]):
        return [f"{guidance['onnx']['model']}: guidance.onnx.model not found"]
    return []


def _weights(config: Mapping[str, Any]) -> list[str]:
    # the model modules import torch and torchvision (seconds): only when there are options or files to
    # check, so a config without them (the schema has checked the backbone's name) plans without them
    problems = []
    if config["model"]["backbone_options"]:
        from wsss_core.models.backbones import backbone_problems

        problems += backbone_problems(config["model"]["backbone"], config["model"]["backbone_options"])
    for section in ("objectness", "sonet"):
        path = config[section]["backbone_weights"]
        if path is not None:
            from wsss_core.models.deeplab import backbone_weights_problem

            problem = backbone_weights_problem(config[section]["arch"], path)
            problems += [f"{problem} ({section}.backbone_weights)"] if problem else []
    return problems


def preflight(config: Mapping[str, Any], targets: Sequence[str] | None = None) -> list[str]:
    """Every problem of the files and trees ``config`` names outside ``results/``, one line each.

    ``targets``: the run's targets, where known (``wsss doctor``); the VOC
    test split's id list is checked only for target ``voc_test`` (the workflow,
    which plans before it knows its targets, leaves that list to the rule
    that reads it).
    """
    problems = _holdouts(config) + _datasets(config, test="voc_test" in (targets or ())) + _guidance(config)
    problems += objectness_source_problems(
        config["objectness"]["source_kind"], config["objectness"]["source_root"], config["objectness"]["source_split"]
    )
    return problems + _weights(config)


def preflight_report(problems: list[str]) -> str:
    """The problems of :func:`preflight` as one message: a heading, then one line each."""
    count = len(problems)
    return "\n".join([f"pre-flight check: {count} problem{'s' if count != 1 else ''}, no job was started", *problems])


def _source_class_names(config: Mapping[str, Any]) -> set[str] | None:
    """The class names of the objectness source of a run, None when unknown (a folder without classes.csv)."""
    if config["objectness"]["source_kind"] == "coco_stuff":
        return set(COCO_THING_NAMES.values())
    classes_csv = Path(config["objectness"]["source_root"] or ".") / "classes.csv"
    if not classes_csv.is_file():
        return None
    with classes_csv.open(newline="") as handle:
        return {name for row in csv.DictReader(handle) for name in (row.get("classes") or "").split()}


def class_map_warnings(config: Mapping[str, Any]) -> list[str]:
    """A warning when a run's objectness source has no class map and target classes are not named as in the source.

    Eq. 1's non-overlapping source drops the source images that show a target
    class, recognised by name or through ``objectness.class_map``: with an
    empty map, a target class the source names otherwise (VOC's aeroplane is
    COCO's airplane) is not dropped. ``config`` is the run's merged configuration.
    """
    objectness = config["objectness"]
    uses_objectness = config["method"] == "sonet" or config["guidance"]["method"] == "objectness"
    if not uses_objectness or objectness["source_kind"] == "generated" or objectness["class_map"]:
        return []
    targets, sources = dataset_class_names(config), _source_class_names(config)
    if targets is None or sources is None:
        return []
    source_names = {normalise_name(name) for name in sources}
    unnamed = sorted(name for name in targets if normalise_name(name) not in source_names)
    if not unnamed:
        return []
    return [
        f"objectness.class_map: empty, and target class(es) {', '.join(unnamed)} are not class names of the "
        f"{objectness['source_kind']} source: the non-overlapping source (Eq. 1) keeps the images that show them; "
        "map source names onto them (coco_to_voc maps COCO onto the VOC classes)"
    ]
