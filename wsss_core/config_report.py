"""``wsss config``: the effective settings of a run before it starts, each with the layer it came from, and the
differences between two runs' settings.

The settings are those the workflow would use (:func:`wsss_core.doctor.merged_config`):
every training stage the run trains with its complete settings (the key that set
each value, in which layer), then every other key of the configuration.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from wsss_core.config_layers import STAGE_SECTIONS, Layer, leaf_sources, run_stages, shadowed_settings, stage_settings

SCHEMA_DEFAULT = "schema default"


def _text(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _leaves(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    leaves: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            leaves.update(_leaves(value, f"{prefix}{key}."))
        else:
            leaves[f"{prefix}{key}"] = value
    return leaves


def effective_settings(layers: Sequence[Layer], config: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """{dotted key: (effective value, source)}: each trained stage's ``<stage>.train.<key>`` (the source names the
    layer and the key that set it), then every other leaf of ``config`` (the source is the last layer that set it)."""
    settings: dict[str, tuple[Any, str]] = {}
    for stage in run_stages(config):
        for key, setting in stage_settings(layers, stage).items():
            settings[f"{stage}.train.{key}"] = (setting.value, setting.source)
    sources = leaf_sources(layers)
    stage_sections = {"train", *(sections[-1] for sections in STAGE_SECTIONS.values())}
    for key, value in _leaves(config).items():
        if not any(key.startswith(f"{section}.") for section in stage_sections):
            settings[key] = (value, sources.get(key, SCHEMA_DEFAULT))
    return settings


def _columns(rows: list[tuple[str, str, str]], indent: str = "  ") -> list[str]:
    width = [max(len(row[i]) for row in rows) for i in range(2)] if rows else [0, 0]
    return [f"{indent}{key:<{width[0]}}  {value:<{width[1]}}  {source}".rstrip() for key, value, source in rows]


def effective_report(layers: Sequence[Layer], config: Mapping[str, Any]) -> list[str]:
    """The lines of ``wsss config``: the layers, each trained stage's settings, the other settings, the warnings."""
    settings = effective_settings(layers, config)
    lines = [
        "layers (a later one wins): " + " < ".join(layer.name for layer in layers),
        "training stages: config.yaml's settings of the stage, then your layers' train:, then their <stage>.train",
    ]
    for stage in run_stages(config):
        prefix = f"{stage}.train."
        lines.append(f"  {stage}")
        lines += _columns([(key[len(prefix):], _text(v), s) for key, (v, s) in settings.items() if key.startswith(prefix)], "    ")
    stage_keys = tuple(f"{stage}.train." for stage in run_stages(config))
    lines.append("other settings")
    lines += _columns([(key, _text(v), s) for key, (v, s) in settings.items() if not key.startswith(stage_keys)])
    warnings = shadowed_settings(layers, run_stages(config))
    return lines + [f"warning: {line}" for line in warnings]


def difference_report(
    layers_a: Sequence[Layer], config_a: Mapping[str, Any], layers_b: Sequence[Layer], config_b: Mapping[str, Any]
) -> list[str]:
    """The lines of ``wsss config --diff``: every setting whose effective value differs, A's and B's with their sources."""
    a, b = effective_settings(layers_a, config_a), effective_settings(layers_b, config_b)
    rows = []
    for key in [*a, *(key for key in b if key not in a)]:
        value_a, source_a = a.get(key, (None, "not trained"))
        value_b, source_b = b.get(key, (None, "not trained"))
        if key not in a or key not in b or value_a != value_b:
            shown_a = _text(value_a) if key in a else "-"
            shown_b = _text(value_b) if key in b else "-"
            rows.append((key, f"{shown_a} ({source_a})", f"{shown_b} ({source_b})"))
    heading = [
        "A: " + " < ".join(layer.name for layer in layers_a),
        "B: " + " < ".join(layer.name for layer in layers_b),
    ]
    if not rows:
        return heading + ["no setting differs"]
    width = [max(len(row[i]) for row in rows) for i in range(2)]
    return heading + [f"  {key:<{width[0]}}  {va:<{width[1]}}  {vb}".rstrip() for key, va, vb in rows]
