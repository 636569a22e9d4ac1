"""Unknown keys of a configuration, found before the schema check so that each gets a suggestion.

The schema (``schemas/config.schema.yaml``) closes every section with
``additionalProperties: false``; a misspelt key (``shard: 4`` for ``shards``)
would otherwise be reported without a hint, or, in a section a layered file
replaces, not at all. :func:`config_problems` walks the config along the
schema and names every key the schema does not know, with the closest known
key of the same section.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterator, Mapping


def resolve_schema(node: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``node`` with its ``$ref`` (``#/definitions/...``) merged in; local properties overlay the target's."""
    node = dict(node)
    ref = node.pop("$ref", None)
    if ref is None:
        return node
    target = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    target = resolve_schema(target, schema)
    properties = {**target.get("properties", {})}
    for name, local in node.get("properties", {}).items():
        properties[name] = {**properties.get(name, {}), **local}
    return {**target, **node, "properties": properties}


def _walk(config: Any, node: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> Iterator[str]:
    node = resolve_schema(node, schema)
    if not isinstance(config, Mapping) or node.get("additionalProperties", True) is not False:
        return
    known = node.get("properties", {})
    for key, value in config.items():
        name = f"{prefix}{key}"
        if key in known:
            yield from _walk(value, known[key], schema, f"{name}.")
            continue
        close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.6)
        hint = f"did you mean '{prefix}{close[0]}'?" if close else f"known keys here: {', '.join(sorted(known))}"
        yield f"unknown config key '{name}' ({hint})"


def config_problems(config: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """One line per key of ``config`` (at any depth) that ``schema`` does not define, with the nearest known key.

    Only sections the schema closes (``additionalProperties: false``) are
    checked; free-form mappings (``dataset.splits``, ``model.backbone_options``)
    are not.
    """
    return list(_walk(config, schema, schema, ""))
