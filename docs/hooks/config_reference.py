"""MkDocs hook: the configuration page's reference tables, generated from schemas/config.schema.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from wsss_core.config_reference import config_reference

MARKER = "<!-- generated: the reference of every key, from schemas/config.schema.yaml -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Replace the marker with the reference of every configuration key."""
    if MARKER not in markdown:
        return markdown
    schema_path = Path(config["config_file_path"]).parent / "schemas" / "config.schema.yaml"
    return markdown.replace(MARKER, config_reference(yaml.safe_load(schema_path.read_text())))
