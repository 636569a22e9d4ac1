"""SONet (Sec. 2.2): shapes, the objectness module, the losses of Eq. 5 and one training epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torchvision.models import mobilenet_v3_large

from wsss_core.data.dataset import load_index
from wsss_core.data.synthetic import generate_dataset
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine.config import TrainConfig
from wsss_core.inference.predict import predict_probs
from wsss_core.io import InputError, read_label_map, write_gray
from wsss_core.models.sonet import SONet, build_sonet
from wsss_core.sonet.labels import make_sonet_labels
from wsss_core.sonet.stage import sonet_losses, train_sonet

NUM_CLASSES = 3


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Keep the tests light on a shared CPU (train_sonet is called with threads=1 too)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> SONet:
    torch.manual_seed(0)
    return build_sonet({"num_classes": NUM_CLASSES, "objectness_width": 16})


def test_outputs_have_the_input_size(model: SONet):
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
        assert out["seg_logits"].shape == (1, NUM_CLASSES + 1, 64, 64)
        assert out["ca_logits"].shape == (1, 1, 64, 64)
        assert set(model(torch.randn(1, 3, 48, 40), branches=("ca", "seg"))) == {"seg_logits", "ca_logits"}
        assert set(model(torch.randn(1, 3, 48, 40), branches=("seg",))) == {"seg_logits"}
    with pytest.raises(ValueError, match="unknown branch"):
        model(torch.randn(1, 3, 32, 32), branches=("cls",))
    assert model.model_config == {
        "kind": "sonet",
        "num_classes": NUM_CLASSES,
        "arch": "deeplabv3_mobilenet_v3_large",
        "objectness_width": 16,
        "backbone_weights": None,
        "output_stride": None,
        "objectness_branch": True,
    }
    assert isinstance(model.backbone, nn.Module)


def test_objectness_module_is_four_conv_bn_relu_and_a_1x1_conv(model: SONet):
    layers = [m for m in model.objectness.modules() if not list(m.children())]
    kinds = [type(m) for m in layers]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 4 + [nn.Conv2d]
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 4 + [(1, 1)]
    assert convs[0].in_channels == NUM_CLASSES + 1  # it takes S (Eq. 4)
    assert [c.out_channels for c in convs] == [16] * 4 + [1]
    default = build_sonet({"num_classes": 2})
    assert [m.out_channels for m in default.objectness.modules() if isinstance(m, nn.Conv2d)] == [64] * 4 + [1]


def test_losses_are_finite_and_train_both_modules(model: SONet):
    model.train()
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 64, 64, generator=generator)
    seg = torch.randint(0, NUM_CLASSES + 1, (2, 64, 64), generator=generator).to(torch.uint8)
    seg[:, :5] = 255
    ca = (seg > 0).to(torch.uint8)
    ca[:, :, :3] = 255
    losses = sonet_losses(model, images, {"seg_labels": seg, "ca_labels": ca})
    assert set(losses) == {"loss_seg", "loss_objectness"}
    assert all(torch.isfinite(value) for value in losses.values())

    model.zero_grad()
    losses["loss_objectness"].backward()  # L_O alone reaches phi_S through S (end-to-end)
    for module in (model.backbone, model.seg_head, model.objectness):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
    model.zero_grad()
    sonet_losses(model, images, {"seg_labels": seg, "ca_labels": ca})["loss_seg"].backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in model.objectness.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.backbone.parameters())


def test_predict_probs_reads_s_and_s_o(model: SONet):
    model.eval()
    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    seg, ca = predict_probs(model, image, torch.device("cpu"), scales=[1.0], flip=True)
    assert seg.shape == (NUM_CLASSES + 1, 40, 56) and ca.shape == (40, 56)
    np.testing.assert_allclose(seg.sum(axis=0), 1.0, rtol=1e-5)


def test_config_errors_and_local_backbone_weights(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown SONet arch"):
        build_sonet({"num_classes": 2, "arch": "deeplabv3_vgg16"})
    with pytest.raises(ValueError, match=r"unknown SONet setting\(s\) \['backbone'\]"):
        build_sonet({"num_classes": 2, "backbone": "tiny"})
    with pytest.raises(InputError, match=r"missing\.pth: backbone weights not found"):
        build_sonet({"num_classes": 2, "backbone_weights": str(tmp_path / "missing.pth")})

    # torchvision's ImageNet layout of MobileNetV3 ("features.*", "classifier.*")
    torch.manual_seed(1)
    imagenet = tmp_path / "mobilenet_v3_large.pth"
    torch.save(mobilenet_v3_large(weights=None).state_dict(), imagenet)
    loaded = build_sonet({"num_classes": 2, "backbone_weights": str(imagenet)})
    reference = torch.load(imagenet, weights_only=True)
    assert torch.equal(loaded.backbone.state_dict()["16.0.weight"], reference["features.16.0.weight"])
    # with pretrained=False the file is not read (it may be gone)
    imagenet.unlink()
    assert build_sonet(loaded.model_config, pretrained=False).model_config == loaded.model_config

    wrong = tmp_path / "wrong.pth"
    torch.save({"conv.weight": torch.zeros(1)}, wrong)
    with pytest.raises(InputError, match=r"wrong\.pth: weights do not match the backbone"):
        build_sonet({"num_classes": 2, "backbone_weights": str(wrong)})


def test_train_sonet_one_epoch_writes_a_loadable_checkpoint(tmp_path: Path):
    root = tmp_path / "dataset"
    generate_dataset(root, num_train=4, num_val=2, image_size=64, seed=0, num_classes=6, num_source=0)
    index = load_index(root)
    objectness = tmp_path / "objectness"
    for image_id in index.ids("train"):
        mask = read_label_map(index.mask_path(image_id))
        write_gray(objectness / f"{image_id}.png", np.where(mask > 0, 255, 0).astype(np.uint8))
    labels = tmp_path / "labels"
    make_sonet_labels(root, "train", labels, kind="box_objectness_ignore", objectness_dir=objectness)

    checkpoint, history = tmp_path / "sonet.pt", tmp_path / "sonet.csv"
    settings = dict(
        model_config={"arch": "deeplabv3_mobilenet_v3_large", "objectness_width": 8},
        train_config={"epochs": 1, "batch_size": 2, "lr": 0.001, "crop_size": 64, "scale_range": [1.0, 1.0],
                      "color_jitter": 0.0},
        threads=1,
    )
    train_sonet(root, "train", labels, objectness, checkpoint, history, **settings)

    state = torch.load(checkpoint, weights_only=True)
    assert state["model_config"]["kind"] == "sonet" and state["model_config"]["num_classes"] == index.num_classes
    rebuilt = build_sonet(state["model_config"], pretrained=False)
    rebuilt.load_state_dict(state["state_dict"])
    assert not checkpoint.with_name(checkpoint.name + ".resume").exists()
    log = pd.read_csv(history)
    assert len(log) == 1 and np.isfinite(log[["loss_seg", "loss_objectness", "loss"]].to_numpy()).all()

    # the objectness target is O > objectness_threshold on the 0-255 maps
    write_gray(objectness / f"{index.ids('train')[0]}.png", np.full((64, 64), 153, dtype=np.uint8))  # O = 0.6
    config = TrainConfig.from_config({**settings["train_config"], "hflip": False})
    for threshold, expected in ((0.5, 1), (0.7, 0)):
        sample = WeakLabelDataset(
            index, index.ids("train"), config, seg_label_dir=labels, ca_label_dir=objectness, ca_threshold=threshold
        )[0]
        assert set(sample["ca_labels"].unique().tolist()) == {expected}
    with pytest.raises(InputError, match="nowhere: directory not found"):
        train_sonet(root, "train", labels, tmp_path / "nowhere", checkpoint, history, **settings)
