"""Writing MXNet's NDArray-list (``.params``) files byte for byte, for the converter's tests.

The layout is that of MXNet's ``NDArray::Save`` (``src/ndarray/ndarray.cc`` of
apache/mxnet): list magic 0x112, a reserved word, the arrays, the names. Each
array in one of the formats MXNet has written: ``legacy`` (MXNet < 1.0: the
number of dimensions first, 32-bit dimensions), ``v1`` (magic 0xF993FAC8,
64-bit dimensions), ``v2`` (magic 0xF993FAC9, storage type, 64-bit
dimensions), ``v3`` (magic 0xF993FACA, as v2).

The names and shapes of ResNet-38 model A1's ImageNet file
(``ilsvrc-cls_rna-a1_cls1000_ep-0001.params``) follow the network as psa
defines it (``network/resnet38d.py`` of github.com/jiwoon-ahn/psa: ``Net``,
``ResBlock``, ``ResBlock_bot``) and the parameter names of ademxapp's MXNet
symbol (``res<stage><a|bN>_<branch>_weight``, ``bn<stage><a|bN>_<branch>_<gamma|beta|moving_mean|moving_var>``,
``bn7_*``, ``conv1a_weight``, the classifier ``linear1000_{weight,bias}``),
saved by ``mx.model.save_checkpoint`` with ``arg:`` / ``aux:`` prefixes.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

FLAGS = {np.dtype(np.float32): 0, np.dtype(np.float64): 1, np.dtype(np.float16): 2, np.dtype(np.int32): 4}
MAGIC = {"v1": 0xF993FAC8, "v2": 0xF993FAC9, "v3": 0xF993FACA}


def _write_array(handle: BinaryIO, array: np.ndarray, version: str) -> None:
    if version == "legacy":
        handle.write(struct.pack(f"<I{array.ndim}I", array.ndim, *array.shape))
    elif version == "v1":
        handle.write(struct.pack(f"<II{array.ndim}q", MAGIC["v1"], array.ndim, *array.shape))
    else:
        handle.write(struct.pack(f"<IiI{array.ndim}q", MAGIC[version], 0, array.ndim, *array.shape))
    handle.write(struct.pack("<iii", 1, 0, FLAGS[array.dtype]))  # cpu(0), dtype flag
    handle.write(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes())


def write_params(path: Path, arrays: Iterator[tuple[str, np.ndarray]], count: int, version: str = "legacy") -> None:
    """Write ``count`` named arrays as ``mx.nd.save`` does; arrays are drawn one at a time (big files stay out of memory)."""
    names = []
    with path.open("wb") as handle:
        handle.write(struct.pack("<QQQ", 0x112, 0, count))
        for name, array in arrays:
            _write_array(handle, array, version)
            names.append(name)
        assert len(names) == count
        handle.write(struct.pack("<Q", len(names)))
        for name in names:
            encoded = name.encode("utf-8")
            handle.write(struct.pack("<Q", len(encoded)) + encoded)


def _resblock(mx: str, pt: str, cin: int, mid: int, cout: int, projection: bool) -> list[tuple[str, str, tuple[int, ...]]]:
    """psa's ResBlock: bn_branch2a, conv_branch2a (3x3), bn_branch2b1, conv_branch2b1 (3x3), conv_branch1 (1x1) if projected."""
    layers = [("bn", "branch2a", (cin,)), ("res", "branch2a", (mid, cin, 3, 3)), ("bn", "branch2b1", (mid,)), ("res", "branch2b1", (cout, mid, 3, 3))]
    if projection:
        layers.append(("res", "branch1", (cout, cin, 1, 1)))
    return _named(mx, pt, layers)


def _bottleneck(mx: str, pt: str, cin: int, cout: int) -> list[tuple[str, str, tuple[int, ...]]]:
    """psa's ResBlock_bot: 1x1 to cout/4, 3x3 to cout/2, 1x1 to cout, each after a BN; a 1x1 projection."""
    layers = [
        ("bn", "branch2a", (cin,)), ("res", "branch2a", (cout // 4, cin, 1, 1)),
        ("bn", "branch2b1", (cout // 4,)), ("res", "branch2b1", (cout // 2, cout // 4, 3, 3)),
        ("bn", "branch2b2", (cout // 2,)), ("res", "branch2b2", (cout, cout // 2, 1, 1)),
        ("res", "branch1", (cout, cin, 1, 1)),
    ]  # fmt: skip
    return _named(mx, pt, layers)


def _named(mx: str, pt: str, layers: list[tuple[str, str, tuple[int, ...]]]) -> list[tuple[str, str, tuple[int, ...]]]:
    """(MXNet name, psa key, shape) of every parameter of a block's layers."""
    named = []
    for kind, branch, shape in layers:
        if kind == "res":
            named.append((f"arg:res{mx}_{branch}_weight", f"{pt}.conv_{branch}.weight", shape))
        else:
            for mx_param, pt_param, prefix in (("gamma", "weight", "arg"), ("beta", "bias", "arg"), ("moving_mean", "running_mean", "aux"), ("moving_var", "running_var", "aux")):
                named.append((f"{prefix}:bn{mx}_{branch}_{mx_param}", f"{pt}.bn_{branch}.{pt_param}", shape))
    return named


def resnet38_a1_parameters() -> list[tuple[str, str | None, tuple[int, ...]]]:
    """(MXNet name, ResNet-38 key or None for the classifier, shape) of every array of the ImageNet file."""
    params: list[tuple[str, str | None, tuple[int, ...]]] = [("arg:conv1a_weight", "conv1a.weight", (64, 3, 3, 3))]
    stages = [  # (stage, blocks, in, mid, out), psa's Net.__init__
        (2, 3, 64, 128, 128), (3, 3, 128, 256, 256), (4, 6, 256, 512, 512), (5, 3, 512, 512, 1024),
    ]  # fmt: skip
    for stage, blocks, cin, mid, cout in stages:
        for number in range(blocks):
            mx, pt = (f"{stage}a", f"b{stage}") if number == 0 else (f"{stage}b{number}", f"b{stage}_{number}")
            params += _resblock(mx, pt, cin if number == 0 else cout, mid, cout, projection=number == 0)
    params += _bottleneck("6a", "b6", 1024, 2048) + _bottleneck("7a", "b7", 2048, 4096)
    for mx_param, pt_param, prefix in (("gamma", "weight", "arg"), ("beta", "bias", "arg"), ("moving_mean", "running_mean", "aux"), ("moving_var", "running_var", "aux")):
        params.append((f"{prefix}:bn7_{mx_param}", f"bn7.{pt_param}", (4096,)))
    params += [("arg:linear1000_weight", None, (1000, 4096)), ("arg:linear1000_bias", None, (1000,))]
    return params


def known_values(position: int, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 tensor every element of which says where it belongs: array ``position``, element index (mod 1000) / 1000."""
    size = int(np.prod(shape))
    return (position + (np.arange(size, dtype=np.float64) % 1000) / 1000.0).astype(np.float32).reshape(shape)
