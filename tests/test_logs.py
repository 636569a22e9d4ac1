"""Progress of the per-image loops and epochs: bars on a terminal, a few log lines elsewhere."""

from __future__ import annotations

import logging

import pytest

from wsss_core.logs import progress


def test_progress_off_a_terminal_logs_one_line_per_tenth(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wsss.progress"):
        assert list(progress(range(250), total=250, desc="predict val")) == list(range(250))
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 10, lines
    assert lines[0].startswith("predict val: 25/250 img (10 %)") and lines[-1].startswith("predict val: 250/250 img (100 %)")
    assert "\r" not in capsys.readouterr().err  # no bar frames in a log file


def test_progress_counts_units_per_item_and_logs_once_per_step(caplog: pytest.LogCaptureFixture) -> None:
    batches = [list(range(8))] * 3  # 24 images in 3 batches: every batch crosses one or more tenths
    with caplog.at_level(logging.INFO, logger="wsss.progress"):
        list(progress(batches, total=24, desc="CAMs", count=len))
    assert [record.getMessage().split(",")[0] for record in caplog.records] == [
        "CAMs: 8/24 img (33 %)",
        "CAMs: 16/24 img (67 %)",
        "CAMs: 24/24 img (100 %)",
    ]


def test_disabled_progress_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wsss.progress"):
        list(progress(range(10), total=10, desc="other rank", enabled=False))
    assert not caplog.records


def test_progress_logs_at_every_tenth_exactly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="wsss.progress"):
        list(progress(range(30), total=30, desc="epoch", unit="batch"))
    assert [int(record.getMessage().split()[1].split("/")[0]) for record in caplog.records] == list(range(3, 31, 3))
