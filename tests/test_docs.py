"""The manual: every configuration key described in the schema, the reference page generated from it, the site built and rendered."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from browser import chromium, require_chromium
from PIL import Image
from workflow_helpers import REPO

from wsss_core.config_reference import config_reference, schema_keys

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
KEYS = list(schema_keys(SCHEMA))


def test_every_schema_property_has_a_description() -> None:
    assert len(KEYS) > 200
    missing = [item.key for item in KEYS if not (item.description or "").strip()]
    assert not missing, f"schema properties without a description: {missing}"


def test_the_reference_names_every_key_with_its_default() -> None:
    reference = config_reference(SCHEMA)
    for item in KEYS:
        if not item.section:
            row = next((line for line in reference.splitlines() if line.startswith(f"| `{item.key}` |")), None)
            assert row is not None, item.key
            assert item.description.split()[0] in row
            if item.default:
                assert item.default.replace("|", "\\|") in row, (item.key, item.default)
    assert "`inference.batch_size`" in reference and "`objectness.source_split`" in reference


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manual built with ``mkdocs build --strict`` (any warning fails the build)."""
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return site


def test_the_configuration_page_is_generated_from_the_schema(site: Path) -> None:
    page = (site / "configuration" / "index.html").read_text()
    assert "<!-- generated" not in page
    for item in KEYS:
        if not item.section:
            assert f"<code>{item.key}</code>" in page, item.key


class _Links(HTMLParser):
    """The href / src of every element, and every id, of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def _broken_links(page: Path, dom: str, site: Path) -> list[str]:
    """Links of the rendered ``dom`` of ``page`` to a file of the site that is missing, or to a missing anchor."""
    broken = []
    for link in _parse(dom).links:
        parts = urlsplit(link)
        if parts.scheme or link.startswith(("//", "mailto:", "javascript:", "data:")):
            continue  # another site (not reachable here) or inline data
        target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or not target.is_relative_to(site.resolve()):
            broken.append(link)
        elif parts.fragment and target.suffix == ".html" and parts.fragment not in _parse(target.read_text()).ids:
            broken.append(link)
    return broken


@pytest.mark.parametrize(
    "page, texts",
    [
        ("index.html", ("wsss-flow", "Getting started", "Reproduce the papers", "Configuration", "Method choices")),
        ("configuration/index.html", ("Configuration", "pcam_fg_threshold", "inference.batch_size", "default")),
    ],
)
def test_the_pages_render_in_headless_chromium_without_a_broken_link(site: Path, page: str, texts: tuple[str, ...], tmp_path: Path) -> None:
    require_chromium()
    path = site / page
    dom = chromium("--dump-dom", path.as_uri()).stdout
    rendered = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)
    for text in texts:
        assert text in rendered, f"{text!r} not on the rendered {page}"
    assert "md-nav" in dom and "md-content" in dom, "the theme did not render"
    broken = _broken_links(path, dom, site)
    assert not broken, f"broken links on {page}: {broken}"
    screenshot = tmp_path / f"{page.replace('/', '_')}.png"
    chromium("--hide-scrollbars", "--window-size=1400,900", f"--screenshot={screenshot}", path.as_uri())
    with Image.open(screenshot) as image:
        assert image.size == (1400, 900)
    print(f"{page} screenshot: {screenshot}")


def test_the_version_is_in_one_place() -> None:
    from wsss_core import __version__

    result = subprocess.run([sys.executable, "-m", "wsss_core.cli", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"wsss {__version__}"
    assert yaml.safe_load((REPO / "CITATION.cff").read_text())["version"] == __version__
    assert f"## {__version__} (" in (REPO / "CHANGELOG.md").read_text()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'version = {attr = "wsss_core.__version__"}' in pyproject
