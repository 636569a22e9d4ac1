"""The configuration reference, generated from the schema: every key with its type, default, allowed values and description.

:func:`schema_keys` walks ``schemas/config.schema.yaml`` (``$ref`` to its
definitions resolved, a stage's overrides merged over the shared settings) and
:func:`config_reference` renders the keys as one Markdown table per top-level
section; the manual's configuration page is this output, never written by hand.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from wsss_core.config_keys import resolve_schema


@dataclass(frozen=True)
class SchemaKey:
    """One property of the schema: its dotted key, type, default, allowed values and description."""

    key: str
    type: str
    default: str  # JSON, empty where the schema gives none
    allowed: str
    description: str | None
    section: bool  # an object with keys of its own


def _type(node: Mapping[str, Any]) -> str:
    if "enum" in node:
        return "choice"
    if "oneOf" in node:
        return " or ".join(_type(option) for option in node["oneOf"])
    if "const" in node:
        return json.dumps(node["const"])
    kind = node.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and "items" in node:
        return f"list of {_type(node['items'])}"
    return kind


def _allowed(node: Mapping[str, Any]) -> str:
    if "enum" in node:
        return ", ".join(json.dumps(value) for value in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    if "oneOf" in node:
        return "; ".join(part for part in (_allowed(option) for option in node["oneOf"]) if part)
    bounds = [f"{sign} {node[word]}" for word, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")) if word in node]
    items = node.get("items")
    if isinstance(items, Mapping) and _allowed(items):
        bounds.append(f"items {_allowed(items)}")
    return ", ".join(bounds)


def schema_keys(schema: Mapping[str, Any]) -> Iterator[SchemaKey]:
    """Every property of ``schema``, depth first, as :class:`SchemaKey` (objects with properties: their leaves only)."""

    def walk(node: Mapping[str, Any], prefix: str) -> Iterator[SchemaKey]:
        node = resolve_schema(node, schema)
        for name, child in node.get("properties", {}).items():
            child = resolve_schema(child, schema)
            key = f"{prefix}{name}"
            default = json.dumps(child["default"]) if "default" in child else ""
            yield SchemaKey(key, _type(child), default, _allowed(child), child.get("description"), bool(child.get("properties")))
            if child.get("properties"):
                yield from walk(child, f"{key}.")

    yield from walk(schema, "")


def _cell(text: str) -> str:
    """``text`` for a Markdown table cell: pipes escaped, and outside code spans ``<``, ``>`` and ``&`` as entities, so
    that a placeholder such as ``results/<run>/`` is shown, not taken for an HTML tag."""
    parts = text.replace("\n", " ").split("`")
    parts[::2] = [html.escape(part, quote=False) for part in parts[::2]]
    return "`".join(parts).replace("|", "\\|")


def config_reference(schema: Mapping[str, Any]) -> str:
    """Markdown: the top-level settings in one table, then one table per section (key, type, default, allowed values, description)."""
    sections: dict[str, list[SchemaKey]] = {"general": []}
    for item in schema_keys(schema):
        top = item.key.split(".")[0]
        if "." not in item.key and not item.section:
            sections["general"].append(item)
        elif "." in item.key:
            sections.setdefault(top, []).append(item)
        else:
            sections.setdefault(top, []).insert(0, item)
    out = []
    for name, items in sections.items():
        out += [f"### {'General' if name == 'general' else f'`{name}`'}", ""]
        heads = [item for item in items if item.key == name and item.section]
        if heads and heads[0].description:
            out += [heads[0].description, ""]
        out += ["| key | type | default | allowed | description |", "| --- | --- | --- | --- | --- |"]
        for item in items:
            if item.key != name:
                out.append(f"| `{item.key}` | {_cell(item.type)} | {'`' + _cell(item.default) + '`' if item.default else ''} | {_cell(item.allowed)} | {_cell(item.description or '')} |")
        out.append("")
    return "\n".join(out)
