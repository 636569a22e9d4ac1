"""wsss prepare voc: VOC 2012 + SBD (masks as .mat files) -> SegmentationClassAug/ and train_aug.txt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat
from scipy.sparse import csc_matrix

from wsss_core.cli import main
from wsss_core.data.prepare_voc import prepare_voc, read_sbd_mask
from wsss_core.io import IGNORE_LABEL, InputError, read_label_map, write_label_map

VOC_TRAIN, VOC_VAL = ["2007_000032", "2007_000039"], ["2007_000033", "2007_000042"]
SBD_TRAIN, SBD_VAL = ["2007_000039", "2008_000002", "2007_000033"], ["2008_000003", "2008_000007"]
SIZE = (12, 16)


def _mask(seed: int, border: bool) -> np.ndarray:
    mask = np.zeros(SIZE, dtype=np.uint8)
    mask[2:8, 3:11] = 1 + seed % 20
    if border:  # VOC's own masks outline objects with 255
        mask[2, 3:11] = IGNORE_LABEL
    return mask


@pytest.fixture()
def downloads(tmp_path: Path) -> tuple[Path, Path]:
    """A VOCdevkit/VOC2012 tree and an SBD benchmark_RELEASE tree, each in its download's layout."""
    voc, sbd = tmp_path / "VOCdevkit" / "VOC2012", tmp_path / "benchmark_RELEASE"
    (voc / "JPEGImages").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (sbd / "dataset" / "cls").mkdir(parents=True)
    (sbd / "dataset" / "img").mkdir()
    every_id = sorted(set(VOC_TRAIN + VOC_VAL + SBD_TRAIN + SBD_VAL))
    for number, image_id in enumerate(every_id):
        Image.new("RGB", SIZE[::-1], (number * 20, 40, 90)).save(voc / "JPEGImages" / f"{image_id}.jpg")
    for number, image_id in enumerate(VOC_TRAIN + VOC_VAL):
        write_label_map(voc / "SegmentationClass" / f"{image_id}.png", _mask(number, border=True))
    for number, image_id in enumerate(SBD_TRAIN + SBD_VAL):  # SBD's GTcls struct, as the .mat files hold it
        boundaries = np.empty((20, 1), dtype=object)  # one sparse boundary map per class
        boundaries[:, 0] = [csc_matrix(SIZE, dtype=np.uint8) for _ in range(20)]
        gtcls = {"Segmentation": _mask(100 + number, border=False), "Boundaries": boundaries, "CategoriesPresent": np.array([1 + (100 + number) % 20])}
        savemat(sbd / "dataset" / "cls" / f"{image_id}.mat", {"GTcls": gtcls})
    for path, ids in ((voc / "ImageSets/Segmentation/train.txt", VOC_TRAIN), (voc / "ImageSets/Segmentation/val.txt", VOC_VAL),
                      (sbd / "dataset/train.txt", SBD_TRAIN), (sbd / "dataset/val.txt", SBD_VAL)):  # fmt: skip
        path.write_text("".join(f"{i}\n" for i in ids))
    return voc, sbd


def test_masks_and_train_aug_from_voc_where_it_has_them_else_sbd(downloads: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    voc, sbd = downloads
    assert main(["prepare", "voc", "--voc", str(voc), "--sbd", str(sbd)]) == 0
    train_aug = (voc / "ImageSets" / "Segmentation" / "train_aug.txt").read_text().split()
    # SBD train + SBD val + VOC train, minus VOC val (2007_000033 is in SBD train and VOC val)
    assert train_aug == ["2007_000032", "2007_000039", "2008_000002", "2008_000003", "2008_000007"]
    assert "train_aug.txt (5 ids); val 2 ids" in capsys.readouterr().out
    written = sorted(path.stem for path in (voc / "SegmentationClassAug").glob("*.png"))
    assert written == sorted(train_aug + VOC_VAL)
    for number, image_id in enumerate(VOC_TRAIN + VOC_VAL):  # VOC's own, borders included
        assert np.array_equal(read_label_map(voc / "SegmentationClassAug" / f"{image_id}.png"), _mask(number, border=True))
    for number, image_id in enumerate(SBD_TRAIN + SBD_VAL):
        if image_id not in VOC_TRAIN + VOC_VAL:
            assert np.array_equal(read_label_map(voc / "SegmentationClassAug" / f"{image_id}.png"), _mask(100 + number, border=False))
    assert np.array_equal(read_sbd_mask(sbd / "dataset" / "cls" / "2008_000002.mat"), _mask(101, border=False))


def test_a_wrong_tree_gets_one_line_per_problem_and_nothing_is_written(downloads: tuple[Path, Path]) -> None:
    voc, sbd = downloads
    (voc / "JPEGImages" / "2008_000002.jpg").unlink()
    (sbd / "dataset" / "cls" / "2008_000007.mat").unlink()
    with pytest.raises(InputError) as info:
        prepare_voc(voc, sbd)
    assert str(info.value).splitlines() == [
        f"{voc}/JPEGImages/2008_000002.jpg: image of '2008_000002' not found",
        f"{sbd}/dataset/cls/2008_000007.mat: mask of '2008_000007' not found (nor {voc}/SegmentationClass/2008_000007.png)",
    ]
    assert not (voc / "SegmentationClassAug").exists() and not (voc / "ImageSets/Segmentation/train_aug.txt").exists()
    (sbd / "dataset" / "val.txt").unlink()
    with pytest.raises(InputError, match=r"benchmark_RELEASE/dataset/val\.txt: id-list file not found"):
        prepare_voc(voc, sbd)
    with pytest.raises(InputError, match=r"nowhere: SBD benchmark_RELEASE directory not found"):
        prepare_voc(voc, voc.parent / "nowhere")
