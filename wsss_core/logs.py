"""Log set-up for one pipeline step (to a log file and to stderr) and the progress of its loops."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from tqdm import tqdm

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
    propagates, so the log file says why the step failed.
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
    except Exception:
        logger.exception("step %s failed", step)
        raise
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()


def progress(
    items: Iterable[T], *, total: int, desc: str, unit: str = "img", count: Callable[[T], int] | None = None
) -> Iterator[T]:
    """``items`` with a progress bar of ``total`` ``unit`` s; ``count(item)`` units per item (default 1)."""
    with tqdm(total=total, desc=desc, unit=unit, mininterval=2.0) as bar:
        for item in items:
            yield item
            bar.update(1 if count is None else count(item))
