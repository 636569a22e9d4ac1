"""The settings that let a paper config run as the authors' code ran it, each against the behaviour it names.

The classifier head (Dropout2d and a bias-free fc), Xavier heads, the decoders
(chain, no batch norm), frozen backbone layers, the crop padding labelled
background, the CRF's tempered unary and soft class-agnostic labels (L_ca on
CRF_d's probabilities), SONet's output stride and SONet without its objectness branch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from wsss_core.crf import CrfParams, crf_foreground, dense_crf
from wsss_core.ctlr.ca_labels import initial_ca_labels, write_ca_label
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.data.transforms import augment, build_augmentation
from wsss_core.engine.config import TrainConfig
from wsss_core.engine.optim import build_optimizer
from wsss_core.io import IGNORE_LABEL, read_gray, write_gray
from wsss_core.losses import class_agnostic_loss
from wsss_core.models.backbones import build_backbone
from wsss_core.models.multitask import build_model
from wsss_core.models.sonet import build_sonet
from wsss_core.sonet.stage import sonet_losses

TINY = {"backbone": "tiny", "backbone_options": {"width": 8}, "decoder_channels": 8, "num_classes": 3}


def test_the_classifier_head_drops_feature_channels_and_has_no_bias() -> None:
    torch.manual_seed(0)
    model = build_model({**TINY, "classifier_dropout": 0.5, "classifier_bias": False})
    assert model.classifier.bias is None and "classifier.bias" not in model.state_dict()
    images = torch.randn(2, 3, 32, 32)
    model.train()
    assert not torch.equal(model(images, branches=("cls",))["cls_logits"], model(images, branches=("cls",))["cls_logits"])
    model.eval()  # no dropout at inference: the CAMs and the logits agree, as the fc of pooled features
    out = model(images, branches=("cls",))
    assert torch.allclose(out["cls_logits"], out["features"].mean(dim=(2, 3)) @ model.classifier.weight.T, atol=1e-5)


def test_the_default_head_is_the_network_of_before() -> None:
    """The defaults draw the same initial weights as a network built without the new keys."""
    torch.manual_seed(0)
    plain = build_model(dict(TINY)).state_dict()
    torch.manual_seed(0)
    explicit = build_model({**TINY, "decoder_cascade": "dense", "decoder_batch_norm": True, "classifier_dropout": 0.0,
                            "classifier_bias": True, "head_init": "default"}).state_dict()  # fmt: skip
    assert plain.keys() == explicit.keys() and all(torch.equal(plain[key], explicit[key]) for key in plain)


def test_a_chain_decoder_without_batch_norm_has_biased_convolutions_of_its_width() -> None:
    model = build_model({**TINY, "decoder_cascade": "chain", "decoder_batch_norm": False, "decoder_channels": 16})
    convs = [module for module in model.seg_decoder.atrous.modules() if isinstance(module, nn.Conv2d)]
    assert [conv.in_channels for conv in convs] == [32, 16, 16] and all(conv.bias is not None for conv in convs)
    assert not any(isinstance(module, nn.BatchNorm2d) for module in model.ca_decoder.modules())
    assert model.seg_decoder.classifier.in_channels == 16
    dense = build_model({**TINY, "decoder_channels": 16})
    assert dense.seg_decoder.classifier.in_channels == 32 + 3 * 16
    assert model(torch.randn(1, 3, 32, 32))["seg_logits"].shape == (1, 4, 4, 4)


def test_xavier_heads_have_xavier_uniform_bounds() -> None:
    torch.manual_seed(0)
    model = build_model({**TINY, "head_init": "xavier", "decoder_channels": 64})
    for module in (model.classifier, *model.ca_decoder.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(module.weight)
            bound = (6.0 / (fan_in + fan_out)) ** 0.5
            assert module.weight.abs().max() <= bound and module.weight.abs().max() > 0.8 * bound


def test_frozen_layers_never_train_and_stay_out_of_the_optimiser() -> None:
    backbone = build_backbone("resnet38", frozen_layers=["conv1a", "b2"])
    assert not backbone.conv1a.weight.requires_grad and not any(p.requires_grad for p in backbone.b2.parameters())
    assert backbone.b3.conv_branch2a.weight.requires_grad
    model = build_model({**TINY, "backbone_options": {"width": 8, "frozen_layers": ["layers.0"]}})
    model.train()
    optimizer = build_optimizer(model, TrainConfig(epochs=1, batch_size=1, lr=0.1))
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in trained for p in model.backbone.layers[0].parameters())
    with pytest.raises(ValueError, match=r"frozen_layers names 'conv9', which is not a module of it \(top-level modules: layers\)"):
        build_backbone("tiny", frozen_layers=["conv9"])


def test_crop_padding_labelled_background_or_ignored() -> None:
    image, labels = np.full((10, 12, 3), 90, np.uint8), np.full((10, 12), 2, np.uint8)
    for pad_label, value in (("ignore", IGNORE_LABEL), ("background", 0)):
        transform = build_augmentation(crop_size=24, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.0, pad_label=pad_label)
        _, (out,) = augment(transform, image, [labels], seed=(0, 0, 0))
        assert out.shape == (24, 24) and set(np.unique(out)) == {2, value}
    with pytest.raises(ValueError, match="unknown pad_label 'zero'"):
        build_augmentation(crop_size=24, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.0, pad_label="zero")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(fg=arrays(np.float32, (9, 11), elements=st.floats(0.0, 1.0, width=32)))
def test_the_tempered_unary_is_the_plain_one_over_tau_sigmoid(fg: np.ndarray) -> None:
    """One iteration without pairwise weight: the marginals are softmax(-unary), so the two unaries are comparable."""
    image = np.zeros((9, 11, 3), np.uint8)
    flat = CrfParams(iterations=1, gaussian_compat=0, bilateral_compat=0)
    probs = np.stack([1.0 - fg, fg])
    tempered = dense_crf(image, probs, CrfParams(**{**flat.__dict__, "unary_tau": 1.05}))
    floored = np.maximum(probs, 1e-5)
    floored /= floored.sum(axis=0, keepdims=True)
    unary = -np.log(floored) / (1.05 / (1.0 + np.exp(-floored)))
    expected = np.exp(-unary) / np.exp(-unary).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(tempered, expected, atol=1e-4)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(fg=arrays(np.float32, (12, 14), elements=st.floats(0.0, 1.0, width=32)))
def test_soft_crf_output_is_the_foreground_marginal_the_hard_one_thresholds(fg: np.ndarray) -> None:
    image = np.random.default_rng(0).integers(0, 255, (12, 14, 3), dtype=np.uint8)
    params = CrfParams(iterations=1, bilateral_sxy=60, bilateral_srgb=5, bilateral_compat=5, unary_tau=1.05)
    soft, hard = crf_foreground(image, fg, params, soft=True), crf_foreground(image, fg, params)
    assert soft.dtype == np.float32 and soft.min() >= 0 and soft.max() <= 1
    decided = np.abs(soft - 0.5) > 1e-4
    np.testing.assert_array_equal(hard[decided], (soft > 0.5)[decided])


def test_soft_class_agnostic_labels_reach_the_loss_as_soft_targets(tiny_dataset: Path, tmp_path: Path) -> None:
    index = load_index(tiny_dataset)
    ids = index.ids("train")[:2]
    prior_dir = tmp_path / "prior"
    prior_dir.mkdir()
    for image_id in ids:
        height, width = read_gray(index.mask_path(image_id)).shape
        write_gray(prior_dir / f"{image_id}.png", np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1)))
    initial_ca_labels(index, ids, prior_dir, tmp_path / "soft", None)
    initial_ca_labels(index, ids, prior_dir, tmp_path / "hard", 0.5)
    assert len(np.unique(read_gray(tmp_path / "soft" / f"{ids[0]}.png"))) == 64  # the 64 px ramp, kept
    assert set(np.unique(read_gray(tmp_path / "hard" / f"{ids[0]}.png"))) == {0, 255}
    config = TrainConfig(epochs=1, batch_size=1, lr=0.1, crop_size=96, scale_range=(1.0, 1.0), hflip=False, color_jitter=0.0)
    soft = WeakLabelDataset(index, ids, config, ca_label_dir=tmp_path / "soft", ca_threshold=None)[0]["ca_labels"]
    hard = WeakLabelDataset(index, ids, config, ca_label_dir=tmp_path / "hard", ca_threshold=0.5)[0]["ca_labels"]
    valid = soft != IGNORE_LABEL
    assert torch.equal(valid, hard != IGNORE_LABEL) and (~valid).any()  # the crop's padding (96 > 64) is ignored in both
    assert soft[valid].min() == 0.0 and soft[valid].max() == 1.0 and len(torch.unique(soft[valid])) > 30
    logits = torch.zeros(1, 1, *soft.shape)
    # BCE of sigmoid(0) = 0.5 against soft targets t: the mean of -t log 0.5 - (1 - t) log 0.5 = log 2 whatever t
    assert torch.isclose(class_agnostic_loss(logits, soft[None]), torch.tensor(np.log(2.0), dtype=torch.float32))
    # and against a target of 1/4 the loss is lowest at logit log(1/3)
    quarter = torch.where(valid, 0.25, IGNORE_LABEL)[None]
    losses = [float(class_agnostic_loss(torch.full_like(logits, value), quarter)) for value in (-1.5, np.log(1 / 3), -0.6)]
    assert losses[1] < losses[0] and losses[1] < losses[2]


def test_write_ca_label_keeps_a_soft_map_and_a_binary_mask(tmp_path: Path) -> None:
    soft = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    write_ca_label(tmp_path / "soft.png", soft)
    np.testing.assert_array_equal(read_gray(tmp_path / "soft.png"), [[0, 64], [128, 255]])
    write_ca_label(tmp_path / "hard.png", np.array([[0, 1], [1, 0]], np.uint8))
    np.testing.assert_array_equal(read_gray(tmp_path / "hard.png"), [[0, 255], [255, 0]])


@pytest.mark.parametrize(("arch", "stride", "rates"), [("deeplabv3_resnet50", 16, (6, 12, 18)), ("deeplabv3_resnet50", 8, (12, 24, 36)),
                                                      ("deeplabv3_mobilenet_v3_large", 16, (6, 12, 18))])  # fmt: skip
def test_sonet_feature_stride_sets_the_backbone_and_the_aspp_rates(arch: str, stride: int, rates: tuple[int, ...]) -> None:
    model = build_sonet({"num_classes": 2, "arch": arch, "output_stride": stride}).eval()
    with torch.no_grad():
        features = model.backbone(torch.randn(1, 3, 64, 64))["out"]
    assert features.shape[-1] == 64 // stride
    assert tuple(conv[0].dilation[0] for conv in model.seg_head[0].convs[1:4]) == rates
    assert model.model_config["output_stride"] == stride


def test_a_mobilenet_sonet_has_output_stride_16_only() -> None:
    with pytest.raises(ValueError, match="has output stride 16 only"):
        build_sonet({"num_classes": 2, "arch": "deeplabv3_mobilenet_v3_large", "output_stride": 8})


def test_sonet_without_its_objectness_branch_is_plain_deeplabv3_trained_with_ce_alone() -> None:
    torch.manual_seed(0)
    plain = build_sonet({"num_classes": 2, "objectness_branch": False, "output_stride": 16})
    assert plain.branches == ("seg",) and not any(name.startswith("objectness.") for name in plain.state_dict())
    with pytest.raises(ValueError, match=r"unknown branch\(es\) \['ca'\]; this SONet has \('seg',\)"):
        plain(torch.randn(1, 3, 32, 32), branches=("seg", "ca"))
    batch = {"seg_labels": torch.zeros(2, 32, 32, dtype=torch.uint8), "ca_labels": torch.zeros(2, 32, 32)}
    assert set(sonet_losses(plain, torch.randn(2, 3, 32, 32), batch)) == {"loss_seg"}
    full = build_sonet({"num_classes": 2, "output_stride": 16})
    assert set(sonet_losses(full, torch.randn(2, 3, 32, 32), batch)) == {"loss_seg", "loss_objectness"}
