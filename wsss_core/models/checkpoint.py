"""Checkpoints of the training stages: the one place that writes and reads them.

A checkpoint is ``{"model_config", "state_dict", "stage", "epochs"}``, saved
with :func:`torch.save` and read with ``weights_only=True``.
``model_config["kind"]`` names the network: ``multitask`` (the default),
``sonet`` or ``objectness``; the rest of it rebuilds that network.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import torch
from torch import Tensor, nn

from wsss_core.io import InputError, atomic_path
from wsss_core.models.multitask import build_model
from wsss_core.models.objectness import build_objectness_net
from wsss_core.models.sonet import build_sonet

SEGMENTATION_KINDS = ("multitask", "sonet")  # networks that answer model(images, branches=("ca", "seg"))

_BUILDERS: dict[str, Callable[[dict[str, Any]], nn.Module]] = {
    "multitask": lambda config: build_model(config, pretrained=False),
    "sonet": lambda config: build_sonet(config, pretrained=False),
    "objectness": lambda config: build_objectness_net(str(config["arch"])),
}


def state_dict_cpu(model: nn.Module) -> dict[str, Tensor]:
    """The state dict of ``model`` with every tensor detached and on the CPU."""
    return {key: value.detach().cpu() for key, value in model.state_dict().items()}


def save_torch(state: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, stage: str, epochs: int) -> None:
    """Write the checkpoint of a finished stage: ``model.model_config`` and its weights."""
    save_torch({"model_config": model.model_config, "state_dict": state_dict_cpu(model), "stage": stage, "epochs": epochs}, path)


def _first_line(err: BaseException) -> str:
    """The first non-empty line of an error's message (torch's are paragraphs)."""
    return next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)


def _mismatch(model: nn.Module, state_dict: dict[str, Any]) -> str:
    """One line on how ``state_dict`` does not fit ``model``: the first differing shape or missing / extra key."""
    own = model.state_dict()
    for key, value in state_dict.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            return f"{key} is {tuple(value.shape)} in the file, {tuple(own[key].shape)} in its model_config's network"
    missing, extra = sorted(set(own) - set(state_dict)), sorted(set(state_dict) - set(own))
    return f"missing weights {missing[:3]}, unexpected weights {extra[:3]}"


def load_checkpoint(path: str | os.PathLike, map_location: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by the training stages (``weights_only=True``) onto the device ``map_location``."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: checkpoint not found")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt / foreign files
        raise InputError(f"{path}: not a readable torch checkpoint ({_first_line(err)})") from err
    if not isinstance(checkpoint, dict) or not {"model_config", "state_dict"} <= set(checkpoint):
        raise InputError(f"{path}: not a wsss checkpoint (needs keys model_config and state_dict)")
    return checkpoint


def _load_network(
    path: str | os.PathLike, map_location: torch.device | str, kinds: tuple[str, ...], what: str, num_classes: int | None = None
) -> nn.Module:
    """Rebuild the network of checkpoint ``path``, one of ``kinds`` (``what`` in messages), and load its weights.

    Every problem is one :class:`InputError` line naming ``path``: not a torch
    file, another kind of network, weights of another model config, or
    (``num_classes`` given) another number of classes than the dataset's.
    """
    checkpoint = load_checkpoint(path, map_location)
    config = dict(checkpoint["model_config"])
    kind = config.get("kind", "multitask")
    if kind not in kinds:
        raise InputError(f"{path}: not {what} checkpoint (model_config kind is {kind!r})")
    if num_classes is not None and config.get("num_classes") != num_classes:
        raise InputError(
            f"{path}: checkpoint of a network for {config.get('num_classes')} classes, the dataset has {num_classes}"
        )
    try:
        model = _BUILDERS[kind](config)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: its model_config cannot be built ({_first_line(err)})") from err
    if kind == "objectness":
        model.model_config = config
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise InputError(f"{path}: weights do not fit its model_config ({_mismatch(model, checkpoint['state_dict'])})") from err
    return model.to(map_location)


def load_model(path: str | os.PathLike, map_location: torch.device | str = "cpu", num_classes: int | None = None) -> nn.Module:
    """The segmentation network of checkpoint ``path``: the multi-task network or SONet.

    Both answer ``model(images, branches=("ca", "seg"))``. With ``num_classes``
    (the dataset's C) a checkpoint for another number of classes is an error.
    """
    return _load_network(path, map_location, SEGMENTATION_KINDS, "a segmentation network", num_classes)


def load_objectness_net(path: str | os.PathLike, map_location: torch.device | str = "cpu") -> nn.Module:
    """The objectness network of checkpoint ``path`` (its backbone weights file is not re-read)."""
    return _load_network(path, map_location, ("objectness",), "an objectness")
