"""Multi-GPU training: the launcher, the process group of its ranks, and DDP inside the training loop.

:func:`run_training` calls a training function either in this process (one
GPU, or the CPU) or, for ``gpus > 1``, in every process of
``torchrun --standalone --nproc-per-node <gpus> -m wsss_core.engine.distributed <spec>``,
where ``spec`` is the pickled function (by reference) and its arguments. Every
torchrun process (rank) runs this module's :func:`main`: it joins the process
group (NCCL on CUDA, one GPU per rank; gloo on the CPU) and calls the function;
:func:`wsss_core.engine.fit.fit` then trains with DistributedDataParallel
(:func:`wrap`, :func:`reduce_mean`, :func:`broadcast_buffers`).

The ranks print their log records on stdout (rank 0 from INFO up, the others
warnings and errors only); the launcher re-emits them through :mod:`logging`, so
they land in the calling step's log file. Progress bars stay on stderr.
"""

from __future__ import annotations

import collections
import logging
import os
import pickle
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
from torch import nn
from torch.nn.parallel import DistributedDataParallel

log = logging.getLogger("wsss_core.engine.distributed")  # also when run as __main__ by torchrun

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


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel (rank 0's weights are broadcast to every rank).

    On CUDA its batch norms become SyncBatchNorm first, so the statistics are
    those of the whole batch; torch's SyncBatchNorm rejects CPU tensors in
    training, so on the CPU (gloo, the tests) every rank normalises with the
    statistics of its own share. The swap keeps parameters, buffers and state
    dict keys, and happens in place: ``model`` keeps being the unwrapped network.
    """
    if device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(model)
    # static_graph: every step of a stage runs the same branches, so the set of parameters
    # taking part in the loss never changes. Frozen branches have requires_grad=False and
    # are not registered with DDP at all, and today every trainable parameter of every
    # network reaches the loss; static_graph keeps DDP correct should a network have
    # trainable parameters it never uses (the default fails at the second step then),
    # without the per-step autograd-graph search of find_unused_parameters=True.
    return DistributedDataParallel(
        model, device_ids=[torch.cuda.current_device()] if device.type == "cuda" else None, static_graph=True
    )


def reduce_mean(sums: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average the per-rank values of ``sums`` (same keys, same order on every rank) over the ranks."""
    keys = list(sums)
    values = torch.tensor([sums[key] for key in keys], dtype=torch.float64, device=device)
    dist.all_reduce(values)
    return dict(zip(keys, (values / world_size()).tolist()))


def broadcast_buffers(model: nn.Module) -> None:
    """Give every rank rank 0's buffers (batch-norm statistics), as DDP does before each forward.

    After an epoch all ranks then hold exactly the network rank 0 saves.
    """
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)


# ---------------------------------------------------------------------------
# The launcher
# ---------------------------------------------------------------------------


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


def _spec(function: Callable[..., None], kwargs: Mapping[str, Any]) -> bytes:
    """``(function, kwargs)`` pickled for the ranks; the function travels by reference (module and name)."""
    try:
        return pickle.dumps((function, dict(kwargs)))
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise ValueError(
            f"cannot launch {getattr(function, '__qualname__', function)!r} in torchrun processes: "
            f"the training function must be importable by name and its arguments picklable ({err})"
        ) from err


def run_training(function: Callable[..., None], kwargs: Mapping[str, Any], gpus: int) -> None:
    """Call the training function ``function(**kwargs)`` on ``gpus`` processes.

    With ``gpus <= 1`` it runs in this process. Otherwise ``gpus`` processes
    are started with torchrun (``python -m torch.distributed.run``, the torch
    of this interpreter) and train together with DistributedDataParallel: on
    CUDA one GPU each, without CUDA on the CPU (gloo). A ``threads`` argument
    is split between them (``max(1, threads // gpus)`` torch threads per
    process). The processes' log records are re-emitted here; a failure raises
    :class:`RuntimeError` naming the function and the log.
    """
    if gpus <= 1:
        function(**kwargs)
        return
    name = getattr(function, "__qualname__", repr(function))
    kwargs = dict(kwargs)
    threads_per_rank = max(1, int(kwargs.get("threads") or os.cpu_count() or 1) // gpus)
    if kwargs.get("threads"):
        kwargs["threads"] = threads_per_rank
    spec = _spec(function, kwargs)
    package_root = str(Path(__file__).resolve().parents[2])  # the ranks import this very wsss_core
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads_per_rank),
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")])),
    }
    fd, spec_path = tempfile.mkstemp(prefix=f"wsss-{name}-", suffix=".pickle")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(gpus),
        "-m", __name__, spec_path,
    ]  # fmt: skip
    tail: collections.deque[str] = collections.deque(maxlen=20)
    try:
        with os.fdopen(fd, "wb") as handle:  # complete before any rank reads it
            handle.write(spec)
        log.info("%s: launching %d processes: %s", name, gpus, " ".join(command))
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
            assert process.stdout is not None
            _relay(process.stdout, tail)
        returncode = process.returncode
    finally:
        Path(spec_path).unlink(missing_ok=True)
    if returncode != 0:
        where = ", ".join(_log_files()) or "the log records above"
        raise RuntimeError(
            f"{name}: torchrun with {gpus} processes failed (exit code {returncode}); "
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
    """Entry point of one torchrun process: ``python -m wsss_core.engine.distributed SPEC``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: torchrun ... -m wsss_core.engine.distributed SPEC", file=sys.stderr)
        return 2
    function, kwargs = pickle.loads(Path(args[0]).read_bytes())
    name = getattr(function, "__qualname__", repr(function))
    _configure_rank_logging(int(os.environ.get("RANK", "0")))
    try:
        init_process_group()
        function(**kwargs)
    except Exception:
        log.exception("%s failed on rank %d of %d", name, rank(), world_size())
        return 1
    finally:
        destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
