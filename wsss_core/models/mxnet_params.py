"""MXNet ``.params`` files read with numpy alone, and psa's ResNet-38 ImageNet weights converted from one.

psa and the WSSS code after it start ResNet-38 from the MXNet file
``ilsvrc-cls_rna-a1_cls1000_ep-0001.params`` of Wu et al.'s ademxapp (model
A1), converted with psa's ``resnet38d.convert_mxnet_to_torch``, which needs
mxnet. :func:`read_ndarray_list` reads the file format itself (MXNet's
``NDArray::Save`` of a list, ``src/ndarray/ndarray.cc``; little endian):

* ``uint64`` 0x112 (the list magic), ``uint64`` 0 (reserved);
* ``uint64`` n, then n arrays, each:

  - MXNet >= 1.0: ``uint32`` magic 0xF993FAC9 (V2) or 0xF993FACA (V3), ``int32``
    storage type (0: dense, the only kind in weight files), ``uint32`` ndim,
    ``int64`` dims; or magic 0xF993FAC8 (V1), ``uint32`` ndim, ``int64`` dims;
  - older files: ``uint32`` ndim in place of a magic, ``uint32`` dims;
  - then, unless ndim is 0: ``int32`` device type, ``int32`` device id,
    ``int32`` dtype flag (mshadow's: 0 float32, 1 float64, 2 float16, 3 uint8,
    4 int32, 5 int8, 6 int64) and the values in C order;

* ``uint64`` m (0 or n), then m names, each a ``uint64`` length and its bytes.

:func:`resnet38_key` maps a name of the file onto the keys of
:class:`~wsss_core.models.resnet38.ResNet38` (psa's ``resnet38d`` keys) as
psa's converter does: ``arg:`` / ``aux:`` prefixes dropped, ``res<stage><a|bN>_<branch>_weight``
-> ``b<stage>[_N].conv_<branch>.weight``, ``bn<stage><a|bN>_<branch>_<gamma|beta|moving_mean|moving_var>``
-> ``b<stage>[_N].bn_<branch>.<weight|bias|running_mean|running_var>``,
``bn7_*`` -> ``bn7.*``, ``conv1a_weight`` -> ``conv1a.weight``; the ImageNet
classifier ``linear1000_*`` is dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from wsss_core.io import InputError, atomic_path
from wsss_core.models.resnet38 import ResNet38
from wsss_core.models.weights import fit_problem

log = logging.getLogger(__name__)

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint8, 4: np.int32, 5: np.int8, 6: np.int64}
# The file psa loads, as published with ademxapp (models/checksum.md5 of github.com/itijyou/ademxapp).
RESNET38_PARAMS = "ilsvrc-cls_rna-a1_cls1000_ep-0001.params"
RESNET38_PARAMS_MD5 = "ff21f45d6bf03284100dcbec571edfad"

_BN_PARAMS = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_var": "running_var"}
_BLOCK = re.compile(r"(res|bn)(\d)(a|b\d+)_(branch\w+?)_(weight|gamma|beta|moving_mean|moving_var)")
_BN7 = re.compile(r"bn7_(gamma|beta|moving_mean|moving_var)")


class _Reader:
    """Little-endian values from an open file, each read failing with the file's name when it is cut short."""

    def __init__(self, handle: BinaryIO, path: Path) -> None:
        self.handle, self.path = handle, path

    def values(self, fmt: str) -> tuple:
        size = struct.calcsize("<" + fmt)
        data = self.handle.read(size)
        if len(data) != size:
            raise InputError(f"{self.path}: cut short at byte {self.handle.tell()} (not a whole MXNet .params file)")
        return struct.unpack("<" + fmt, data)

    def array(self, dtype: type, count: int) -> np.ndarray:
        values = np.fromfile(self.handle, dtype=np.dtype(dtype).newbyteorder("<"), count=count)
        if values.size != count:
            raise InputError(f"{self.path}: cut short inside an array (not a whole MXNet .params file)")
        return values


def _read_array(reader: _Reader, position: int) -> np.ndarray | None:
    """One array of the list (None for an empty one)."""
    (magic,) = reader.values("I")
    if magic in (V2_MAGIC, V3_MAGIC):
        (storage,) = reader.values("i")
        if storage != 0:
            raise InputError(f"{reader.path}: array {position} is sparse (storage type {storage}); weight files are dense")
        (ndim,) = reader.values("I")
        shape = reader.values(f"{ndim}q")
    elif magic == V1_MAGIC:
        (ndim,) = reader.values("I")
        shape = reader.values(f"{ndim}q")
    elif magic < 32:  # a legacy file: the magic is the number of dimensions
        shape = reader.values(f"{magic}I")
    else:
        raise InputError(f"{reader.path}: array {position} starts with 0x{magic:08X}, not an MXNet array header")
    if len(shape) == 0:
        return None
    _device_type, _device_id, flag = reader.values("iii")
    if flag not in DTYPES:
        raise InputError(f"{reader.path}: array {position} has MXNet dtype flag {flag}, not one of {sorted(DTYPES)}")
    return reader.array(DTYPES[flag], int(np.prod(shape))).reshape(shape).astype(DTYPES[flag])


def read_ndarray_list(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The named arrays of an MXNet ``.params`` file (``mx.nd.save`` of a dict), in file order.

    A missing, foreign, truncated or unnamed file is an :class:`InputError` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: MXNet .params file not found")
    with path.open("rb") as handle:
        reader = _Reader(handle, path)
        header, _reserved = reader.values("QQ")
        if header != LIST_MAGIC:
            raise InputError(f"{path}: starts with 0x{header:X}, not MXNet's NDArray-list magic 0x{LIST_MAGIC:X}")
        (count,) = reader.values("Q")
        arrays = [_read_array(reader, position) for position in range(count)]
        (named,) = reader.values("Q")
        if named != count:
            raise InputError(f"{path}: {count} arrays but {named} names (weight files name every array)")
        names = []
        for _ in range(named):
            (length,) = reader.values("Q")
            names.append(handle.read(length).decode("utf-8"))
        if handle.read(1):
            raise InputError(f"{path}: bytes after the name list (not an MXNet .params file)")
    return {name: array for name, array in zip(names, arrays) if array is not None}


def resnet38_key(name: str) -> str | None:
    """The ResNet-38 state-dict key of an ademxapp / psa MXNet parameter name; None for the ImageNet classifier."""
    name = name.split(":", 1)[1] if name.startswith(("arg:", "aux:")) else name
    if name.startswith("linear1000_"):
        return None
    if name == "conv1a_weight":
        return "conv1a.weight"
    match = _BN7.fullmatch(name)
    if match:
        return f"bn7.{_BN_PARAMS[match.group(1)]}"
    match = _BLOCK.fullmatch(name)
    if match is None:
        raise InputError(f"MXNet parameter {name!r} is not one of ResNet-38 model A1's")
    kind, stage, position, branch, parameter = match.groups()
    block = f"b{stage}" if position == "a" else f"b{stage}_{position[1:]}"
    if kind == "res":
        if parameter != "weight":
            raise InputError(f"MXNet parameter {name!r}: a convolution has only a weight")
        return f"{block}.conv_{branch}.weight"
    if parameter == "weight":
        raise InputError(f"MXNet parameter {name!r}: a batch norm has gamma, beta, moving_mean and moving_var")
    return f"{block}.bn_{branch}.{_BN_PARAMS[parameter]}"


def md5sum(path: str | os.PathLike) -> str:
    """The MD5 hex digest of a file (read in 8 MiB chunks); ``InputError`` naming it when it cannot be read."""
    digest = hashlib.md5()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(8 << 20), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as err:
        raise InputError(f"{path}: not readable ({err.strerror})") from None
    return digest.hexdigest()


def convert_resnet38(params: str | os.PathLike, output: str | os.PathLike) -> dict[str, torch.Tensor]:
    """psa's ResNet-38 ImageNet ``.params`` file -> a ``.pth`` state dict of the ``resnet38`` backbone, written atomically.

    Every array is renamed by :func:`resnet38_key` (``linear1000`` dropped);
    the result must fit :class:`~wsss_core.models.resnet38.ResNet38` exactly
    (keys and shapes), else nothing is written and an :class:`InputError` says
    what differs. Returns the state dict written.
    """
    arrays = read_ndarray_list(params)
    state: dict[str, torch.Tensor] = {}
    for name, array in arrays.items():
        try:
            key = resnet38_key(name)
        except InputError as err:
            raise InputError(f"{params}: {err}") from None
        if key is not None:
            state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    with torch.device("meta"):
        expected = ResNet38().state_dict()
    problem = fit_problem(expected, state, "ResNet-38 (resnet38)")
    if problem is not None:
        raise InputError(f"{params}: {problem}")
    with atomic_path(output) as tmp:
        torch.save(state, tmp)
    log.info("%s: %d tensors of ResNet-38 written to %s (%d dropped)", params, len(state), output, len(arrays) - len(state))
    return state
