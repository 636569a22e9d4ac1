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


# the elements the theme and Markdown write; any other tag in a page is a placeholder such as <run> taken for HTML
HTML_TAGS = {
    "a", "abbr", "article", "aside", "b", "blockquote", "body", "br", "button", "circle", "code", "col", "colgroup", "dd",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "footer", "form", "g", "h1", "h2", "h3", "h4", "h5", "h6",
    "head", "header", "hr", "html", "i", "img", "input", "kbd", "label", "li", "link", "main", "mark", "meta", "nav",
    "noscript", "ol", "p", "path", "pre", "script", "section", "small", "span", "strong", "style", "sub", "summary", "sup",
    "svg", "table", "tbody", "td", "template", "th", "thead", "title", "tr", "ul",
}  # fmt: skip
# run in each page once it is laid out: the code blocks wider than their box, into an attribute --dump-dom shows
CLIPPED = """<script>window.addEventListener("load", () => {
  const clipped = [...document.querySelectorAll("pre > code")].filter((e) => e.scrollWidth > e.clientWidth + 1);
  document.body.setAttribute("data-clipped", JSON.stringify(clipped.map((e) => e.textContent.slice(0, 100))));
});</script>"""


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def test_every_page_renders_without_lost_placeholders_clipped_commands_or_broken_links(site: Path) -> None:
    """Every page of the built manual in headless Chromium (a 1280 px wide window): no unknown element (a `<run>`
    of the text taken for a tag), no code block wider than the page's column, no link to a missing page or anchor."""
    require_chromium()
    pages = sorted(path for path in site.rglob("index.html") if "assets" not in path.parts)
    assert len(pages) >= 15
    problems = []
    for page in pages:
        probe = page.with_name("clipped-probe.html")
        probe.write_text(page.read_text().replace("</body>", CLIPPED + "</body>"))
        dom = chromium("--window-size=1280,900", "--dump-dom", probe.as_uri()).stdout
        probe.unlink()
        name = page.parent.relative_to(site).as_posix() or "index"
        tags = _Tags()
        tags.feed(dom)
        problems += [f"{name}: a <{tag}> element (a placeholder lost as HTML?)" for tag in sorted(tags.tags - HTML_TAGS)]
        clipped = re.search(r'data-clipped="([^"]*)"', dom)
        assert clipped is not None, f"{name}: the layout probe did not run"
        problems += [f"{name}: clipped code line: {line}" for line in re.findall(r"&quot;(.*?)&quot;", clipped.group(1))]
        problems += [f"{name}: broken link {link}" for link in _broken_links(page, dom, site)]
    assert problems == []


# a duration or a memory figure: what the cost table holds
COST_FIGURE = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:ms|s|seconds?|min|minutes?|h|hours?|GiB)\b")
EVIDENCE_PAGES = {"benchmarks.md", "study.md"}  # dated measurements (BENCHMARKS.md, STUDY.md), not what a run costs


def test_costs_come_from_the_one_table_written_by_the_doctor() -> None:
    """The README, the configs' page and the manual quote no duration or memory figure of their own: the cost table
    (docs/includes/costs.md, written by benchmarks/cost_table.py from wsss doctor) holds them, and the page that
    shows costs includes it."""
    pages = [REPO / "README.md", REPO / "configs" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    figures = []
    for page in pages:
        if page.name in EVIDENCE_PAGES:
            continue
        for number, line in enumerate(page.read_text().splitlines(), 1):
            figures += [f"{page.relative_to(REPO)}:{number}: {match.group(0)}" for match in COST_FIGURE.finditer(line)]
    assert figures == []
    table = (REPO / "docs" / "includes" / "costs.md").read_text()
    assert table.startswith("<!-- written by benchmarks/cost_table.py") and COST_FIGURE.search(table)
    shipped = {path.stem for path in (REPO / "configs").glob("*.yaml")} | {"config.yaml"}
    assert {row.split("`")[1] for row in table.splitlines() if row.startswith("| `")} == shipped
    assert '--8<-- "docs/includes/costs.md"' in (REPO / "docs" / "reproduce.md").read_text()


def test_getting_started_shows_the_demos_measured_numbers(site: Path) -> None:
    """The checked-in table of the demo over three seeds (benchmarks/demo_table.py), on the page, no placeholder."""
    table = (REPO / "docs" / "includes" / "demo_results.md").read_text()
    assert table.startswith("<!-- written by benchmarks/demo_table.py")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == 8 and all(re.search(r"\| \d+\.\d \+- \d+\.\d \(3 seeds\) \|$", row) for row in rows)
    page = (site / "getting-started" / "index.html").read_text()
    assert "CTLR-refined" in page and "(3 seeds)" in page and "&lt;initial&gt;" not in page and "<initial>" not in page
