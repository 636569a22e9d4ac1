"""MkDocs hook: the papers' settings page, one table per paper generated from the ledgers in configs/ledgers/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wsss_core.doctor import load_config
from wsss_core.ledger import read_ledger, settings_tables, used_entries

MARKER = "<!-- generated: the settings ledgers of the paper configs, from configs/ledgers/ -->"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **kwargs: Any) -> str:
    """Replace the marker with one settings table per paper."""
    if MARKER not in markdown:
        return markdown
    configs = Path(config["config_file_path"]).parent / "configs"
    ledgers = {path.stem: read_ledger(path) for path in sorted((configs / "ledgers").glob("*.yaml"))}
    used = {name: used_entries(ledger, load_config([configs / f"{name}.yaml"], [])[0]) for name, ledger in ledgers.items()}
    return markdown.replace(MARKER, "\n".join(settings_tables(ledgers, used)))
