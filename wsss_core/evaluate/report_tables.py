"""The metric tables as HTML pages for the Snakemake report (a CSV there is only a download link)."""

from __future__ import annotations

import html
import os

import pandas as pd

from wsss_core.io import atomic_path

_STYLE = (
    "body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
    "th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}"
    "td:first-child,th:first-child{text-align:left}"
)


def html_page(output_html: str | os.PathLike, title: str, body: str) -> None:
    """Write a standalone HTML page titled ``title`` around the HTML ``body`` (atomically)."""
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h3>{html.escape(title)}</h3>{body}</body></html>\n"
    )
    with atomic_path(output_html) as tmp:
        tmp.write_text(page)


def table_page(table_csv: str | os.PathLike, output_html: str | os.PathLike, title: str) -> pd.DataFrame:
    """Write the CSV table ``table_csv`` as a standalone HTML page titled ``title`` (numbers to 2 decimals)."""
    table = pd.read_csv(table_csv)
    html_page(output_html, title, table.to_html(index=False, float_format=lambda value: f"{value:.2f}", na_rep="-", classes="metrics"))
    return table
