"""The one weights loader: a local ``.pth`` file into a module, keys matched exactly (nothing is downloaded)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from wsss_core.io import InputError

log = logging.getLogger(__name__)

StateDict = dict[str, Tensor]


def read_state_dict(path: str | os.PathLike, *, mmap: bool = False) -> dict[str, Tensor]:
    """The parameter tensors of a ``.pth`` file (``weights_only``), a leading ``module.`` stripped.

    A checkpoint that wraps them in a ``state_dict`` entry is unwrapped. A
    missing, unreadable or foreign file is an :class:`InputError` naming it.
    With ``mmap`` the tensors are memory-mapped, not read (a file in torch's
    zip format; the legacy format is read).
    """
    if not os.path.isfile(path):
        raise InputError(f"{path}: backbone weights not found")
    try:
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except RuntimeError:
            if not mmap:
                raise
            loaded = torch.load(path, map_location="cpu", weights_only=True)  # the legacy format cannot be mapped
    except Exception as err:  # torch raises several types for corrupt / foreign files
        raise InputError(f"{path}: not a readable weights file ({err})") from err
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(
        isinstance(key, str) and isinstance(value, Tensor) for key, value in loaded.items()
    ):
        raise InputError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    return {(key[len("module.") :] if key.startswith("module.") else key): value for key, value in loaded.items()}


def _summarise(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}] ({len(keys)} in all)"


def fit_problem(expected: Mapping[str, Tensor], state: Mapping[str, Tensor], what: str) -> str | None:
    """Why ``state`` does not load into a module whose state dict is ``expected``; None when it does.

    Its keys must be the module's (batch-norm ``num_batches_tracked`` counters
    may be absent) and every tensor must have the module's shape. ``what``
    names the module in the message.
    """
    missing = [key for key in expected if key not in state and not key.endswith(".num_batches_tracked")]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        return f"weights do not match {what}: missing keys {_summarise(missing)}; unexpected keys {_summarise(unexpected)}"
    wrong = [
        f"{key} is {tuple(state[key].shape)}, the module's {tuple(expected[key].shape)}"
        for key in expected
        if key in state and state[key].shape != expected[key].shape
    ]
    if wrong:
        return f"weights do not fit {what}: {wrong[0]}" + (f" ({len(wrong)} tensors differ)" if len(wrong) > 1 else "")
    return None


def load_exact(module: nn.Module, state: Mapping[str, Tensor], path: str | os.PathLike, what: str) -> None:
    """Load ``state`` into ``module``; it must fit (:func:`fit_problem`), else an :class:`InputError` naming ``path``."""
    problem = fit_problem(module.state_dict(), state, what)
    if problem is not None:
        raise InputError(f"{path}: {problem}")
    module.load_state_dict(state, strict=False)


def load_weights(
    module: nn.Module,
    path: str | os.PathLike,
    what: str,
    select: Callable[[StateDict], StateDict] = dict,
) -> None:
    """Load the weights file ``path`` into ``module`` (``what`` names the module in messages).

    ``select`` maps the file's state dict (:func:`read_state_dict`) onto the
    module's keys, e.g. by dropping a classifier; the result must then match
    exactly (:func:`load_exact`).
    """
    load_exact(module, select(read_state_dict(path)), path, what)
    log.info("%s: loaded weights from %s", what, path)


def weights_problem(
    module: nn.Module,
    path: str | os.PathLike,
    what: str,
    select: Callable[[StateDict], StateDict] = dict,
) -> str | None:
    """What :func:`load_weights` would raise for ``path`` and ``module``, without loading anything; None if it fits.

    The file is memory-mapped and only its keys and shapes are compared, so
    ``module`` may live on the ``meta`` device.
    """
    try:
        state = select(read_state_dict(path, mmap=True))
    except InputError as err:
        return str(err)
    problem = fit_problem(module.state_dict(), state, what)
    return None if problem is None else f"{path}: {problem}"
