"""Log set-up for one pipeline step (to a log file and to stderr) and the progress of its loops."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from tqdm import tqdm

from wsss_core.engine.errors import DeviceError

T = TypeVar("T")


def _cluster_job() -> str:
    """The SLURM job (and GPUs) this process runs in, as a log suffix; empty outside SLURM."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id:
        return ""
    return f" in SLURM job {job_id} (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '')})"


@contextlib.contextmanager
def log_to(path: str | os.PathLike, step: str) -> Iterator[logging.Logger]:
    """Send ``logging`` records to ``path`` and stderr while the block runs.

    An exception raised in the block is logged with its traceback before it
    propagates, so the log file says why the step failed. A missing device
    (:class:`~wsss_core.engine.errors.DeviceError`) is one line, and the
    process exits with status 1.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, mode="w"), logging.StreamHandler(sys.stderr)]
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logger = logging.getLogger(f"wsss.{step}")
    logger.info("step %s started on %s%s", step, socket.gethostname(), _cluster_job())
    try:
        yield logger
        logger.info("step %s finished", step)
    except DeviceError as err:
        logger.error("step %s cannot start: %s", step, err)
        raise SystemExit(1) from None
    except Exception:
        logger.exception("step %s failed", step)
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


class Progress:
    """Progress of a loop: a tqdm bar on a terminal; elsewhere one log line per tenth of the total.

    Log files and cluster job outputs then get a few readable lines
    (``predict val: 120/600 img (20 %), 3.1 img/s``) instead of the bar's
    carriage-return frames.
    """

    LOG_STEPS = 10

    def __init__(self, total: int, desc: str, unit: str = "img", enabled: bool = True) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.done, self.note = 0, ""
        self._started = time.monotonic()
        self._next_log = 1
        self._bar = tqdm(total=total, desc=desc, unit=unit, mininterval=2.0) if enabled and sys.stderr.isatty() else None
        self._logger = logging.getLogger("wsss.progress") if enabled and self._bar is None else None

    def update(self, count: int = 1) -> None:
        """``count`` more units done."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._logger is not None and self.done * self.LOG_STEPS >= self._next_log * self.total:
            while self._next_log * self.total <= self.done * self.LOG_STEPS:
                self._next_log += 1
            rate = self.done / max(time.monotonic() - self._started, 1e-9)
            share = 100 * self.done / max(self.total, 1)
            note = f", {self.note}" if self.note else ""
            self._logger.info("%s: %d/%d %s (%.0f %%), %.2f %s/s%s", self.desc, self.done, self.total, self.unit, share, rate, self.unit, note)

    def set_note(self, note: str) -> None:
        """A status shown next to the count (the bar's postfix, the log line's tail)."""
        self.note = note
        if self._bar is not None:
            self._bar.set_postfix_str(note, refresh=False)

    def close(self) -> None:
        """Close the bar (a terminal's last frame)."""
        if self._bar is not None:
            self._bar.close()


def progress(
    items: Iterable[T], *, total: int, desc: str, unit: str = "img", count: Callable[[T], int] | None = None, enabled: bool = True
) -> Iterator[T]:
    """``items`` with their :class:`Progress` of ``total`` ``unit`` s; ``count(item)`` units per item (default 1)."""
    tracker = Progress(total, desc, unit, enabled)
    try:
        for item in items:
            yield item
            tracker.update(1 if count is None else count(item))
    finally:
        tracker.close()
