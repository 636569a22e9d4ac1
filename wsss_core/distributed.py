"""Multi-GPU training: the process group of a torchrun launch and the launcher itself.

:func:`run_training` runs one of the training functions of :data:`TRAINING_FUNCTIONS`
either in this process (one GPU, or the CPU) or, for ``gpus > 1``, as
``torchrun --standalone --nproc-per-node <gpus> -m wsss_core.distributed <spec.json>``.
Every torchrun process (rank) then runs this module's :func:`main`: it joins the
process group (NCCL on CUDA, one GPU per rank; gloo on the CPU), calls the named
function, and :func:`wsss_core.train.fit` trains with DistributedDataParallel.

The ranks print their log records on stdout (rank 0 from INFO up, the others
warnings and errors only); the launcher re-emits them through :mod:`logging`, so
they land in the calling step's log file. Progress bars stay on stderr.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

import torch
import torch.distributed as dist

from wsss_core.crf import CrfParams

log = logging.getLogger("wsss_core.distributed")  # also when run as __main__ by torchrun

#: The functions :func:`run_training` may launch, and the module that defines each.
TRAINING_FUNCTIONS: dict[str, str] = {
    "train_classifier": "wsss_core.train",
    "train_multitask": "wsss_core.train",
    "train_supervised": "wsss_core.train",
    "train_sonet": "wsss_core.train",
    "train_objectness": "wsss_core.objectness",
}

# Arguments that are not plain JSON: rebuilt from their JSON form (dataclasses travel as dicts).
_DECODERS: dict[str, dict[str, Callable[[Any], Any]]] = {"train_multitask": {"crf": CrfParams.from_config}}

# Rank 0 refreshes the online class-agnostic labels between epochs (a CRF per training
# image) while the other ranks wait in a barrier; NCCL's default 10 minutes is too short.
COLLECTIVE_TIMEOUT = timedelta(hours=2)

_RECORD = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+): (.*)$")


# ---------------------------------------------------------------------------
# The process group
# ---------------------------------------------------------------------------


def is_distributed() -> bool:
    """Whether this process is one rank of an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank; 0 when not distributed."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """The number of training processes; 1 when not distributed."""
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0 (and when not distributed): the process that writes files and logs."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here; nothing when not distributed."""
    if is_distributed():
        dist.barrier()


def init_process_group() -> None:
    """Join the process group described by torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, ...).

    On CUDA the backend is NCCL and this rank uses GPU ``LOCAL_RANK``; without
    CUDA it is gloo on the CPU.
    """
    expected = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    missing = [name for name in expected if name not in os.environ]
    if missing:
        raise RuntimeError(f"not started by torchrun: environment variable(s) {', '.join(missing)} missing")
    local_rank = int(os.environ["LOCAL_RANK"])
    if torch.cuda.is_available():
        if local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"rank with LOCAL_RANK={local_rank} has no GPU: torch sees {torch.cuda.device_count()} GPU(s) "
                f"for {os.environ['WORLD_SIZE']} processes (lower train_gpus)"
            )
        torch.cuda.set_device(local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend, timeout=COLLECTIVE_TIMEOUT)
    log.info("process group: rank %d of %d (%s)", rank(), world_size(), backend)


def destroy_process_group() -> None:
    """Leave the process group, if any."""
    if is_distributed():
        dist.destroy_process_group()


# ---------------------------------------------------------------------------
# The launcher
# ---------------------------------------------------------------------------


def _training_function(name: str) -> Callable[..., None]:
    if name not in TRAINING_FUNCTIONS:
        raise ValueError(f"unknown training function {name!r}; available: {sorted(TRAINING_FUNCTIONS)}")
    return getattr(importlib.import_module(TRAINING_FUNCTIONS[name]), name)


def _to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot pass {type(value).__name__} {value!r} to a torchrun process")


def _decode(name: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    decoders = _DECODERS.get(name, {})
    return {key: decoders[key](value) if key in decoders else value for key, value in kwargs.items()}


def _relay(stream: IO[str], tail: collections.deque[str]) -> None:
    """Re-emit the ranks' log lines (``LEVEL logger: message``) through :mod:`logging`."""
    logger, level = log, logging.INFO
    for line in stream:
        line = line.rstrip("\n")
        tail.append(line)
        match = _RECORD.match(line)
        if match:  # a new record; continuation lines (tracebacks) keep its logger and level
            logger, level = logging.getLogger(match[2]), logging.getLevelName(match[1])
            line = match[3]
        logger.log(level, "%s", line)


def _log_files() -> list[str]:
    handlers = logging.getLogger().handlers
    return [handler.baseFilename for handler in handlers if isinstance(handler, logging.FileHandler)]


def run_training(function_name: str, kwargs: Mapping[str, Any], gpus: int) -> None:
    """Run the training function ``function_name`` (one of :data:`TRAINING_FUNCTIONS`) with ``kwargs``.

    With ``gpus <= 1`` it runs in this process. Otherwise ``gpus`` processes
    are started with torchrun (``python -m torch.distributed.run``, the torch
    of this interpreter) and train together with DistributedDataParallel: on
    CUDA one GPU each, without CUDA on the CPU (gloo). A ``threads`` argument
    is split between them (``max(1, threads // gpus)`` torch threads per
    process). The processes' log records are re-emitted here; a failure raises
    :class:`RuntimeError` naming the function and the log.
    """
    function = _training_function(function_name)
    if gpus <= 1:
        function(**kwargs)
        return
    kwargs = dict(kwargs)
    threads_per_rank = max(1, int(kwargs.get("threads") or os.cpu_count() or 1) // gpus)
    if kwargs.get("threads"):
        kwargs["threads"] = threads_per_rank
    spec = json.dumps({"function": function_name, "kwargs": kwargs}, default=_to_json)
    package_root = str(Path(__file__).resolve().parent.parent)  # the ranks import this very wsss_core
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads_per_rank),
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    fd, spec_path = tempfile.mkstemp(prefix=f"wsss-{function_name}-", suffix=".json")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(gpus),
        "-m", "wsss_core.distributed", spec_path,
    ]  # fmt: skip
    tail: collections.deque[str] = collections.deque(maxlen=20)
    try:
        with os.fdopen(fd, "w") as handle:  # complete before any rank reads it
            handle.write(spec)
        log.info("%s: launching %d processes: %s", function_name, gpus, " ".join(command))
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            assert process.stdout is not None
            _relay(process.stdout, tail)
        returncode = process.returncode
    finally:
        Path(spec_path).unlink(missing_ok=True)
    if returncode != 0:
        where = ", ".join(_log_files()) or "the log records above"
        raise RuntimeError(
            f"{function_name}: torchrun with {gpus} processes failed (exit code {returncode}); "
            f"see {where} and torchrun's report on stderr. Last lines:\n" + "\n".join(tail)
        )


def _configure_rank_logging(rank_id: int) -> None:
    """Log records to stdout as ``LEVEL logger: message``: rank 0 from INFO, the others from WARNING."""
    handler = logging.StreamHandler(sys.stdout)
    prefix = f"[rank {rank_id}] " if rank_id else ""
    handler.setFormatter(logging.Formatter(f"%(levelname)s %(name)s: {prefix}%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING if rank_id else logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of one torchrun process: ``python -m wsss_core.distributed SPEC.json``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: torchrun ... -m wsss_core.distributed SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text())
    name = spec["function"]
    function = _training_function(name)
    _configure_rank_logging(int(os.environ.get("RANK", "0")))
    try:
        init_process_group()
        function(**_decode(name, spec["kwargs"]))
    except Exception:
        log.exception("%s failed on rank %d of %d", name, rank(), world_size())
        return 1
    finally:
        destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
