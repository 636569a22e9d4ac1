"""Headless Chromium for tests that open HTML the way a reader does (the run's report, the manual)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    """Chromium's path; skips the test without it, fails it when WSSS_REQUIRE_CHROMIUM=1 (as in CI)."""
    if CHROMIUM is None:
        if os.environ.get("WSSS_REQUIRE_CHROMIUM") == "1":
            pytest.fail("WSSS_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium); CI installs it and sets WSSS_REQUIRE_CHROMIUM=1")
    return CHROMIUM


def chromium(*args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with ``args`` (e.g. ``--dump-dom URL``, ``--screenshot=PNG URL``)."""
    command = [require_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)
