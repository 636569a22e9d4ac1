"""A run's configuration as the layers it is made of, and each training stage's effective settings.

The layers are ``config.yaml`` (the defaults, complete for every stage), then
each ``--configfile`` in order, then the ``--config`` items. Snakemake merges
them key by key; the training settings of a stage are then laid together from
sections (:data:`STAGE_SECTIONS`): the shared ``train`` and the stage's own
``<stage>.train`` (``finetune`` also inherits ``sonet.train``). The rule:

1. the defaults' sections give every stage complete settings;
2. over them go your layers' shared sections (every file and ``--config``, in
   order), then your layers' stage sections.

So a ``train.lr`` in your file reaches every stage, whatever ``config.yaml``
gives a stage of its own, and a stage value in any of your layers wins over a
shared one. Where that stage value comes from an *earlier* layer than the
shared one, :func:`shadowed_settings` says so, naming both.
:func:`resolve_stages` writes the effective settings into each stage's
section, so that every reader of ``config[stage]["train"]`` sees them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from wsss_core.io import InputError

DEFAULTS = "config.yaml"
COMMAND_LINE = "--config"

# The sections a stage's training settings are laid from, shared first.
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "classifier": ("train", "classifier.train"),
    "joint": ("train", "joint.train"),
    "retrain": ("train", "retrain.train"),
    "supervised": ("train", "supervised.train"),
    "objectness": ("train", "objectness.train"),
    "sonet": ("train", "sonet.train"),
    "finetune": ("train", "sonet.train", "finetune.train"),
}


@dataclass(frozen=True)
class Layer:
    """One layer of a configuration: its name (``config.yaml``, a file as given, ``--config``) and its values."""

    name: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class Setting:
    """An effective value and where it came from: the layer and the key that set it."""

    value: Any
    layer: str
    key: str

    @property
    def source(self) -> str:
        return f"{self.layer}: {self.key}"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML config file (empty for an empty file); ``InputError`` naming it when it is not one."""
    try:
        values = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not a YAML file ({str(err).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: config file not readable ({err.strerror if isinstance(err, OSError) else err})") from None
    if not isinstance(values, dict):
        raise InputError(f"{path}: a config file holds a mapping of keys, not a {type(values).__name__}")
    return values


def layer_name(path: str | Path) -> str:
    """How messages name a config file: relative to the working directory when it lies below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def config_layers(defaults: str | Path, configfiles: Sequence[str | Path], items: Mapping[str, Any]) -> list[Layer]:
    """The layers of a run: the ``defaults`` file (config.yaml), each config file in order, the ``--config`` items.

    The defaults file named again among ``configfiles`` (``--configfile
    config.yaml mine.yaml``) stays the defaults layer: it adds nothing.
    A config file that is missing or holds no mapping raises ``InputError``.
    """
    layers = [Layer(DEFAULTS, read_yaml(defaults))]
    for path in configfiles:
        if not Path(path).is_file():
            raise InputError(f"{path}: config file not found")
        if Path(path).resolve() != Path(defaults).resolve():
            layers.append(Layer(layer_name(path), read_yaml(path)))
    return layers + ([Layer(COMMAND_LINE, dict(items))] if items else [])


def lookup(values: Mapping[str, Any], dotted: str) -> Any:
    """``values`` at the dotted key ``dotted`` (``"retrain.train"``), None where any part is missing."""
    node: Any = values
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _sections(layer: Layer, section: str) -> dict[str, Any]:
    found = lookup(layer.values, section)
    return dict(found) if isinstance(found, Mapping) else {}


def stage_settings(layers: Sequence[Layer], stage: str) -> dict[str, Setting]:
    """The effective training settings of ``stage``, each with its source (the module's rule)."""
    defaults, *own = layers
    settings: dict[str, Setting] = {}
    for group in ([defaults], own):
        for section in STAGE_SECTIONS[stage]:
            for layer in group:
                for key, value in _sections(layer, section).items():
                    settings[key] = Setting(value, layer.name, f"{section}.{key}")
    return settings


def shadowed_settings(layers: Sequence[Layer], stages: Iterable[str] = STAGE_SECTIONS) -> list[str]:
    """One line per shared value of a layer that a stage value of an earlier layer (not the defaults) overrides."""
    own = list(enumerate(layers))[1:]
    lines = []
    for stage in stages:
        sections = STAGE_SECTIONS[stage]
        for key, setting in stage_settings(layers, stage).items():
            if setting.layer == DEFAULTS:
                continue
            rank = sections.index(setting.key.rsplit(".", 1)[0])
            position = next(i for i, layer in own if layer.name == setting.layer)
            for later, layer in own:
                for section in sections[:rank]:
                    if later > position and key in _sections(layer, section):
                        lines.append(
                            f"{section}.{key} = {_sections(layer, section)[key]!r} of {layer.name} does not reach {stage}: "
                            f"{setting.key} = {setting.value!r} of the earlier {setting.layer} wins (a stage's own value "
                            f"wins over a shared one); set {STAGE_SECTIONS[stage][-1]}.{key} in {layer.name} to change it"
                        )
    return list(dict.fromkeys(lines))


def resolve_stages(config: dict[str, Any], layers: Sequence[Layer]) -> dict[str, Any]:
    """``config`` with each stage's ``train`` section replaced by its complete effective settings (in place, returned)."""
    for stage, sections in STAGE_SECTIONS.items():
        node = config
        for part in sections[-1].split("."):
            node = node.setdefault(part, {})
        node.clear()
        node.update({key: copy.deepcopy(setting.value) for key, setting in stage_settings(layers, stage).items()})
    return config


def leaf_sources(layers: Sequence[Layer]) -> dict[str, str]:
    """{dotted key: name of the last layer that set it} of every leaf any layer sets."""
    sources: dict[str, str] = {}

    def walk(values: Mapping[str, Any], prefix: str, name: str) -> None:
        for key, value in values.items():
            if isinstance(value, Mapping) and value:
                walk(value, f"{prefix}{key}.", name)
            else:
                sources[f"{prefix}{key}"] = name

    for layer in layers:
        walk(layer.values, "", layer.name)
    return sources


def run_stages(config: Mapping[str, Any]) -> list[str]:
    """The training stages a run of ``config`` trains: CTLR's; or SONet's, with the classifier of its CAMs
    unless its targets are those across datasets (Table 1c, box-driven labels only)."""
    objectness = config["method"] == "sonet" or config["guidance"]["method"] == "objectness"
    cross_dataset = config["method"] == "sonet" and config["eval_dataset"]["kind"] is not None
    stages = [] if cross_dataset else ["classifier"]
    if config["method"] == "ctlr":
        stages += ["joint", "retrain", "supervised"]
    if objectness:
        stages += ["objectness"]
    if config["method"] == "sonet":
        stages += ["sonet"] + (["finetune"] if config["eval_dataset"]["kind"] is not None else [])
    return stages


def header_targets(config_file: str | Path) -> list[str]:
    """The targets of the ``snakemake`` commands in a config file's comment header, in order (``all`` for a command that names none)."""
    targets: list[str] = []
    for line in Path(config_file).read_text().splitlines():
        match = re.match(r"^#\s+snakemake\s+(.*)$", line)
        if match:
            words = match.group(1).split()
            named = words[: next((i for i, word in enumerate(words) if word.startswith("-")), len(words))]
            targets += [target for target in (named or ["all"]) if target not in targets]
    return targets
