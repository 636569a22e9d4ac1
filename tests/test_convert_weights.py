"""wsss convert-weights: psa's MXNet ResNet-38 ImageNet file, read without mxnet, into the resnet38 backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from mxnet_format import known_values, resnet38_a1_parameters, write_params

from wsss_core.cli import main
from wsss_core.io import InputError
from wsss_core.models.backbones import build_backbone
from wsss_core.models.mxnet_params import RESNET38_PARAMS, convert_resnet38, read_ndarray_list, resnet38_key


def test_the_full_a1_file_converts_and_loads_with_every_value_in_place(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Every name and shape of the real file (psa's network definition), a known value per tensor."""
    params = resnet38_a1_parameters()
    source = tmp_path / RESNET38_PARAMS
    write_params(source, ((name, known_values(i, shape)) for i, (name, _, shape) in enumerate(params)), len(params))
    output = tmp_path / "weights" / "ilsvrc-cls_rna-a1_cls1000_ep-0001.pth"
    assert main(["convert-weights", str(source), "-o", str(output)]) == 0
    assert f"{len(params) - 2} ResNet-38 tensors" in capsys.readouterr().out  # linear1000 weight and bias dropped

    backbone = build_backbone("resnet38", weights=str(output))  # raises on any missing / unexpected key or shape
    state = backbone.state_dict()
    assert {key for _, key, _ in params if key} == {key for key in state if not key.endswith("num_batches_tracked")}
    for position, (name, key, shape) in enumerate(params):
        if key is not None:
            assert torch.equal(state[key], torch.from_numpy(known_values(position, shape))), (name, key)


@pytest.mark.parametrize("version", ["legacy", "v1", "v2", "v3"])
def test_every_array_format_mxnet_wrote_reads_back(tmp_path: Path, version: str) -> None:
    arrays = {
        "arg:a": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        "aux:b": np.linspace(-1, 1, 5).astype(np.float64),
        "arg:c": np.array([[1.5, -2.25]], dtype=np.float16),
        "arg:d": np.array([7, -8], dtype=np.int32),
    }
    path = tmp_path / f"{version}.params"
    write_params(path, iter(arrays.items()), len(arrays), version)
    read = read_ndarray_list(path)
    assert list(read) == list(arrays)
    for name, array in arrays.items():
        assert read[name].dtype == array.dtype and np.array_equal(read[name], array)


def test_names_map_as_psa_maps_them() -> None:
    assert resnet38_key("arg:conv1a_weight") == "conv1a.weight"
    assert resnet38_key("arg:res2a_branch1_weight") == "b2.conv_branch1.weight"
    assert resnet38_key("aux:bn4b5_branch2b1_moving_var") == "b4_5.bn_branch2b1.running_var"
    assert resnet38_key("arg:bn6a_branch2b2_gamma") == "b6.bn_branch2b2.weight"
    assert resnet38_key("arg:bn7_beta") == "bn7.bias"
    assert resnet38_key("res7a_branch2b2_weight") == "b7.conv_branch2b2.weight"  # without the arg: prefix
    assert resnet38_key("arg:linear1000_weight") is None
    with pytest.raises(InputError, match="'fc8_weight' is not one of ResNet-38 model A1's"):
        resnet38_key("arg:fc8_weight")


def test_a_wrong_file_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    output = tmp_path / "out.pth"
    not_params = tmp_path / "x.params"
    not_params.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(InputError, match=r"x\.params: starts with 0x.*, not MXNet's NDArray-list magic 0x112"):
        convert_resnet38(not_params, output)
    params = resnet38_a1_parameters()[:5]
    short = tmp_path / "short.params"
    write_params(short, ((name, known_values(i, shape)) for i, (name, _, shape) in enumerate(params)), len(params))
    with pytest.raises(InputError, match=r"short\.params: weights do not match ResNet-38 \(resnet38\): missing keys \[b2\.conv_branch2a"):
        convert_resnet38(short, output)
    truncated = tmp_path / "truncated.params"
    truncated.write_bytes(short.read_bytes()[:200])
    with pytest.raises(InputError, match=r"truncated\.params: cut short"):
        convert_resnet38(truncated, output)
    assert not output.exists()
