"""The objectness network of SONet Sec. 2.1: sources, COCO-Binary, the overlap filter, training, maps."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from wsss_core.data.synthetic import generate_dataset
from wsss_core.io import InputError, read_gray
from wsss_core.models.checkpoint import load_objectness_net
from wsss_core.models.objectness import build_objectness_net
from wsss_core.data.class_names import COCO_THING_NAMES
from wsss_core.sonet.classes import COCO_TO_VOC
from wsss_core.sonet.objectness import objectness_maps, train_objectness
from wsss_core.sonet.source import coco_binary_mask, coco_stuff_class_names, filter_non_overlapping, load_source

VOC_CLASSES = (
    "aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse motorbike "
    "person pottedplant sheep sofa train tvmonitor"
).split()
PERSON, GIRAFFE, GRASS, SKY = 0, 24, 123, 156  # stuffthingmaps values (category id - 1 for things)
TRAIN = {"epochs": 2, "batch_size": 2, "lr": 0.01, "crop_size": 48, "scale_range": [0.9, 1.1], "seed": 0}


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _rgb(seed: int, size: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(size, size, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def coco_stuff_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-image COCO-Stuff tree: person, giraffe, stuff only, person + giraffe."""
    root = tmp_path_factory.mktemp("cocostuff")
    contents = {
        "000000000001": (PERSON, GRASS),
        "000000000002": (GIRAFFE, GRASS),
        "000000000003": (SKY, GRASS),
        "000000000004": (PERSON, GIRAFFE),
    }
    for seed, (name, (a, b)) in enumerate(contents.items()):
        Image.fromarray(_rgb(seed)).save(_mkdir(root / "images" / "train2017") / f"{name}.jpg")
        annotation = np.full((40, 40), b, dtype=np.uint8)
        annotation[8:24, 8:24] = a
        annotation[:2] = 255
        _write_png(root / "annotations" / "train2017" / f"{name}.png", annotation)
    return root


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _folder_source(root: Path, n: int = 4, size: int = 64, classes: dict[str, str] | None = None) -> Path:
    """A folder source: a bright square object on a noisy background, masks 0 / 7 / 255."""
    for i in range(n):
        image = (_rgb(100 + i, size) // 4).astype(np.uint8)
        mask = np.zeros((size, size), dtype=np.uint8)
        y, x = 8 + 4 * i, 12 + 2 * i
        image[y : y + 24, x : x + 24] = (230, 200, 40)
        mask[y : y + 24, x : x + 24] = 7
        mask[-1] = 255
        _write_png(root / "images" / f"s{i}.png", image)
        _write_png(root / "masks" / f"s{i}.png", mask)
    if classes is not None:
        lines = ["image_id,classes"] + [f"{k},{v}" for k, v in classes.items()]
        (root / "classes.csv").write_text("\n".join(lines) + "\n")
    return root


def test_coco_name_table() -> None:
    assert len(COCO_THING_NAMES) == 80
    assert COCO_THING_NAMES[1] == "person" and COCO_THING_NAMES[25] == "giraffe"
    assert COCO_THING_NAMES[90] == "toothbrush" and 12 not in COCO_THING_NAMES
    assert set(COCO_TO_VOC) <= set(COCO_THING_NAMES.values())
    assert sorted(COCO_TO_VOC.values()) == sorted(VOC_CLASSES)


def test_coco_binary_mask_maps_things_stuff_and_ignore() -> None:
    stuffthing = np.array([[0, 24, 90, 91], [123, 181, 255, 11]], dtype=np.uint8)
    expected = np.array([[1, 1, 1, 0], [0, 0, 255, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(coco_binary_mask(stuffthing), expected)
    assert coco_stuff_class_names(stuffthing) == {"person", "giraffe", "coco_category_91", "coco_category_12"}


def test_coco_stuff_source_and_voc_filter(coco_stuff_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    samples = load_source("coco_stuff", coco_stuff_root)
    by_id = {s.image_id: s for s in samples}
    assert sorted(by_id) == [f"00000000000{i}" for i in range(1, 5)]
    assert by_id["000000000001"].class_names == {"person"}
    assert by_id["000000000002"].class_names == {"giraffe"}
    assert by_id["000000000003"].class_names == frozenset()
    mask = by_id["000000000001"].binary_mask()
    assert mask.shape == (40, 40) and set(np.unique(mask)) == {0, 1, 255}
    assert mask[10, 10] == 1 and mask[30, 30] == 0 and mask[0, 0] == 255

    with caplog.at_level(logging.INFO, logger="wsss_core.sonet"):
        kept = filter_non_overlapping(samples, VOC_CLASSES, COCO_TO_VOC)
    assert [s.image_id for s in kept] == ["000000000002", "000000000003"]
    assert "kept 2 of 4" in caplog.text
    # without the map, COCO's "person" still matches VOC's "person" by name
    assert [s.image_id for s in filter_non_overlapping(samples, ["person"])] == ["000000000002", "000000000003"]
    # a target class reached only through the map
    assert len(filter_non_overlapping(samples, ["camelopard"], {"giraffe": "camelopard"})) == 2
    assert load_source("coco_stuff", coco_stuff_root, with_classes=False)[0].class_names is None


def test_coco_stuff_missing_annotation(tmp_path: Path) -> None:
    Image.fromarray(_rgb(0)).save(_mkdir(tmp_path / "images" / "val2017") / "x.jpg")
    _mkdir(tmp_path / "annotations" / "val2017")
    with pytest.raises(InputError, match="x.png"):
        load_source("coco_stuff", tmp_path, split="val2017")


def test_folder_source_with_classes_csv(tmp_path: Path) -> None:
    classes = {"s0": "person", "s1": "giraffe Dining_Table", "s2": "", "s3": "kite"}
    root = _folder_source(tmp_path / "src", classes=classes)
    samples = load_source("folder", root)
    assert [s.image_id for s in samples] == ["s0", "s1", "s2", "s3"]
    assert samples[1].class_names == {"giraffe", "dining table"}
    mask = samples[0].binary_mask()
    assert set(np.unique(mask)) == {0, 1, 255} and mask[-1].tolist() == [255] * 64
    kept = filter_non_overlapping(samples, VOC_CLASSES, COCO_TO_VOC)
    assert [s.image_id for s in kept] == ["s2", "s3"]


def test_folder_source_errors(tmp_path: Path) -> None:
    root = _folder_source(tmp_path / "src", n=2)
    samples = load_source("folder", root)
    assert all(s.class_names is None for s in samples)
    with pytest.raises(InputError, match="classes.csv"):
        filter_non_overlapping(samples, ["person"])
    (root / "classes.csv").write_text("image_id,classes\ns0,person\n")
    with pytest.raises(InputError, match="s1"):
        load_source("folder", root)
    (root / "masks" / "s1.png").unlink()
    with pytest.raises(InputError, match="s1.png"):
        load_source("folder", root)
    with pytest.raises(ValueError, match="unknown"):
        load_source("pascal", root)


def test_net_returns_one_channel_logits(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_objectness_net().eval()
    assert net.model_config["kind"] == "objectness"
    assert net.model_config["arch"] == "deeplabv3_mobilenet_v3_large"
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 64))
    assert isinstance(out, torch.Tensor) and out.shape == (1, 1, 64, 64)
    assert any(True for _ in net.backbone.parameters())

    # backbone weights: the backbone's own state dict, and torchvision's "features."-prefixed layout
    own = tmp_path / "own.pth"
    torch.save(net.backbone.state_dict(), own)
    rebuilt = build_objectness_net(backbone_weights=own)
    for key, value in net.backbone.state_dict().items():
        assert torch.equal(rebuilt.backbone.state_dict()[key], value)
    imagenet_style = tmp_path / "imagenet_style.pth"
    state = {f"features.{k}": v for k, v in net.backbone.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)
    torch.save(state, imagenet_style)
    build_objectness_net(backbone_weights=imagenet_style)

    with pytest.raises(InputError, match="missing.pth"):
        build_objectness_net(backbone_weights=tmp_path / "missing.pth")
    torch.save({"foo.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(InputError, match="do not match"):
        build_objectness_net(backbone_weights=tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="unknown DeepLabv3 architecture .deeplabv3_vgg."):
        build_objectness_net("deeplabv3_vgg")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Train for two epochs on a 4-image folder source (non-overlapping setting keeps 3)."""
    tmp = tmp_path_factory.mktemp("objectness")
    root = _folder_source(tmp / "source", classes={"s0": "person", "s1": "giraffe", "s2": "kite", "s3": ""})
    checkpoint, history = tmp / "objectness.pt", tmp / "objectness.csv"
    train_objectness(
        "folder",
        root,
        checkpoint,
        history,
        train_config=TRAIN,
        target_class_names=VOC_CLASSES,
        class_map=COCO_TO_VOC,
        threads=1,
    )
    return checkpoint, history


def test_train_objectness_writes_checkpoint_and_log(trained: tuple[Path, Path]) -> None:
    checkpoint, history = trained
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert state["model_config"]["kind"] == "objectness"
    assert state["stage"] == "objectness" and state["epochs"] == 2
    model = load_objectness_net(checkpoint)
    assert model.model_config["arch"] == "deeplabv3_mobilenet_v3_large"
    frame = pd.read_csv(history)
    assert frame["epoch"].tolist() == [1, 2]
    assert np.isfinite(frame["loss_objectness"]).all()
    assert not checkpoint.with_name(checkpoint.name + ".resume").exists()


def test_train_objectness_empty_after_filtering(tmp_path: Path) -> None:
    root = _folder_source(tmp_path / "source", n=2, classes={"s0": "person", "s1": "couch"})
    with pytest.raises(InputError, match="no source image is left"):
        train_objectness(
            "folder", root, tmp_path / "o.pt", tmp_path / "o.csv", train_config=TRAIN,
            target_class_names=VOC_CLASSES, class_map=COCO_TO_VOC,
        )  # fmt: skip

    # the same through a target dataset root, a named class map and the generated source kind
    target = tmp_path / "voc"
    target.mkdir()
    (target / "classes.txt").write_text("\n".join(VOC_CLASSES) + "\n")
    (target / "image_labels.csv").write_text("image_id,split,labels\nx,train,15\n")
    with pytest.raises(InputError, match="no source image is left"):
        train_objectness(
            "generated", root, tmp_path / "o.pt", tmp_path / "o.csv", train_config=TRAIN,
            non_overlapping_with=target, class_map="coco_to_voc",
        )  # fmt: skip
    with pytest.raises(ValueError, match="not both"):
        train_objectness(
            "generated", root, tmp_path / "o.pt", tmp_path / "o.csv", train_config=TRAIN,
            non_overlapping_with=target, target_class_names=["person"],
        )  # fmt: skip
    assert not (tmp_path / "o.pt").exists()


def test_objectness_maps_one_png_per_image(trained: tuple[Path, Path], tmp_path: Path) -> None:
    checkpoint, _ = trained
    root = tmp_path / "target"
    generate_dataset(root, num_train=4, num_val=2, image_size=64, seed=0, num_classes=6, num_source=0)
    out = tmp_path / "objectness" / "train"
    objectness_maps(checkpoint, root, "train", out, max_side=48, threads=1)
    assert sorted(p.name for p in out.iterdir()) == [f"train_{i:04d}.png" for i in range(4)]
    for path in out.iterdir():
        values = read_gray(path)
        assert values.shape == (64, 64) and values.dtype == np.uint8
    with pytest.raises(InputError, match="not an objectness checkpoint"):
        bad = tmp_path / "bad.pt"
        torch.save({"model_config": {"kind": "multitask"}, "state_dict": {}}, bad)
        objectness_maps(bad, root, "val", tmp_path / "bad_out")
