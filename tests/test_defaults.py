"""One source of defaults: config.yaml. The schema and every default the library still carries agree with it."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections import defaultdict
from typing import Any, Iterator

import pytest
import yaml
from workflow_helpers import REPO

import wsss_core
from wsss_core.crf import DEEPLAB_CRF, LABEL_EPSILON, CrfParams
from wsss_core.engine.config import TrainConfig
from wsss_core.models.multitask import MultiTaskNet, build_model
from wsss_core.models.objectness import build_objectness_net
from wsss_core.models.sonet import build_sonet
from wsss_core.sonet.source import load_source

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def _leaves(mapping: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf of a nested mapping; empty mappings count as leaves."""
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _resolve(schema: dict) -> dict:
    """A schema with its ``$ref`` (to ``#/definitions/...``) merged in."""
    if "$ref" not in schema:
        return schema
    target = SCHEMA["definitions"][schema["$ref"].split("/")[-1]]
    merged = {**_resolve(target), **{k: v for k, v in schema.items() if k != "$ref"}}
    merged["properties"] = {
        name: {**target.get("properties", {}).get(name, {}), **schema.get("properties", {}).get(name, {})}
        for name in {*target.get("properties", {}), *schema.get("properties", {})}
    }
    return merged


def _schema_default(path: tuple[str, ...]) -> Any:
    node = SCHEMA
    for key in path:
        node = _resolve(node)["properties"][key]
    assert "default" in node, f"schema: {'.'.join(path)} has no default"
    return node["default"]


def _schema_default_paths(schema: dict, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every path of the schema that carries a default below an object default of ``{}``."""
    for key, sub in _resolve(schema).get("properties", {}).items():
        sub = _resolve(sub)
        if "default" in sub and not (sub["default"] == {} and sub.get("properties")):
            yield (*prefix, key)
        yield from _schema_default_paths(sub, (*prefix, key))


def test_the_schema_carries_the_defaults_of_config_yaml() -> None:
    leaves = dict(_leaves(CONFIG))
    for path, value in leaves.items():
        assert _schema_default(path) == value, ".".join(path)
    # and no default that config.yaml lacks
    extra = [".".join(path) for path in _schema_default_paths(SCHEMA) if path not in leaves]
    assert extra == []


def _config_values_by_name() -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = defaultdict(list)
    for path, value in _leaves(CONFIG):
        values[path[-1]].append(value)
    return values


def _library_defaults() -> Iterator[tuple[str, str, Any]]:
    """(where, parameter name, default) of every keyword default of wsss_core's functions, classes and dataclasses."""
    for info in pkgutil.walk_packages(wsss_core.__path__, "wsss_core."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if getattr(value, "__module__", None) != module.__name__ or not callable(value):
                continue
            targets = [value]
            if inspect.isclass(value):
                targets = [getattr(value, attr) for attr in vars(value) if inspect.isfunction(getattr(value, attr))]
                if dataclasses.is_dataclass(value):
                    for field in dataclasses.fields(value):
                        if field.default is not dataclasses.MISSING:
                            yield f"{info.name}.{name}", field.name, field.default
                    targets = []
            for target in targets:
                try:
                    parameters = inspect.signature(target).parameters.values()
                except (TypeError, ValueError):
                    continue
                for parameter in parameters:
                    if parameter.default is not inspect.Parameter.empty:
                        yield f"{info.name}.{getattr(target, '__qualname__', name)}", parameter.name, parameter.default


def _same(default: Any, value: Any) -> bool:
    if isinstance(default, tuple):
        default = list(default)
    return default == value


def test_every_library_default_named_like_a_setting_equals_config_yaml() -> None:
    values = _config_values_by_name()
    checked, wrong = 0, []
    for where, name, default in _library_defaults():
        if name not in values or default is None:
            continue
        checked += 1
        if not any(_same(default, value) for value in values[name]):
            wrong.append(f"{where}({name}={default!r}) vs config.yaml {values[name]}")
    assert wrong == []
    assert checked >= 30  # the scan finds the library's defaults (so this test can fail)


@pytest.mark.parametrize(
    ("library", "section"),
    [
        ({f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}, "train"),
        (dataclasses.asdict(CrfParams(**{})), "crf.class_agnostic"),
        (dataclasses.asdict(DEEPLAB_CRF), "crf.postprocess"),
    ],
    ids=["TrainConfig", "CrfParams", "DEEPLAB_CRF"],
)
def test_library_settings_objects_equal_their_config_section(library: dict, section: str) -> None:
    expected = CONFIG
    for key in section.split("."):
        expected = expected[key]
    assert {key: _same(value, expected[key]) for key, value in library.items()} == {key: True for key in library}


def test_defaults_under_other_names_equal_config_yaml() -> None:
    model = build_model({"num_classes": 3}).model_config
    assert {key: model[key] for key in ("backbone", "decoder_channels", "atrous_rates")} == {
        key: CONFIG["model"][key] for key in ("backbone", "decoder_channels", "atrous_rates")
    }
    assert inspect.signature(MultiTaskNet).parameters["backbone"].default == CONFIG["model"]["backbone"]
    sonet = build_sonet({"num_classes": 3}).model_config
    assert (sonet["arch"], sonet["objectness_width"]) == (CONFIG["sonet"]["arch"], CONFIG["sonet"]["objectness_width"])
    assert build_objectness_net().model_config["arch"] == CONFIG["objectness"]["arch"]
    assert inspect.signature(load_source).parameters["split"].default == CONFIG["objectness"]["source_split"]
    assert LABEL_EPSILON == CONFIG["crf"]["label_epsilon"]
