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


def read_state_dict(path: str | os.PathLike) -> dict[str, Tensor]:
    """The parameter tensors of a ``.pth`` file (``weights_only``), a leading ``module.`` stripped.

    A checkpoint that wraps them in a ``state_dict`` entry is unwrapped. A
    missing, unreadable or foreign file is an :class:`InputError` naming it.
    """
    if not os.path.isfile(path):
        raise InputError(f"{path}: backbone weights not found")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
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


def load_exact(module: nn.Module, state: Mapping[str, Tensor], path: str | os.PathLike, what: str) -> None:
    """Load ``state`` into ``module``; its keys must be the module's (batch-norm counters may be absent).

    Missing or unexpected keys, or tensors of the wrong shape, are an
    :class:`InputError` naming ``path`` and ``what`` the weights were meant for.
    """
    expected = module.state_dict()
    missing = [key for key in expected if key not in state and not key.endswith(".num_batches_tracked")]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        raise InputError(
            f"{path}: weights do not match {what}: "
            f"missing keys {_summarise(missing)}; unexpected keys {_summarise(unexpected)}"
        )
    try:
        module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # tensor shapes that do not fit
        raise InputError(f"{path}: weights do not fit {what}: {err}") from err


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
