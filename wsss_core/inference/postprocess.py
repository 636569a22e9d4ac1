"""Rule postprocess_crf: dense-CRF post-processing of predicted segmentation probabilities (Sec. 4.3.4, Table 8)."""

from __future__ import annotations

from pathlib import Path

from wsss_core.crf import CrfParams, dense_crf
from wsss_core.data.dataset import DatasetIndex
from wsss_core.io import read_rgb, write_label_map
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import LazyStore


class _CrfTask:
    """The CRF of one image id on its single-scale and its multi-scale + flip probabilities."""

    def __init__(self, index: DatasetIndex, store: LazyStore, single_dir: Path, ms_dir: Path, crf: CrfParams) -> None:
        self.index, self.store, self.single_dir, self.ms_dir, self.crf = index, store, single_dir, ms_dir, crf

    def __call__(self, image_id: str) -> None:
        probs = self.store.read(image_id, "seg_single", "seg_ms")
        image = read_rgb(self.index.image_path(image_id))
        write_label_map(self.single_dir / f"{image_id}.png", dense_crf(image, probs["seg_single"], self.crf).argmax(axis=0))
        write_label_map(self.ms_dir / f"{image_id}.png", dense_crf(image, probs["seg_ms"], self.crf).argmax(axis=0))


def postprocess_crf(
    dataset_root: str | Path,
    split: str,
    predictions: str | Path,
    output_crf_dir: str | Path,
    output_ms_crf_dir: str | Path,
    *,
    crf: CrfParams,
    workers: int = 1,
    shard: Shard = ALL_IMAGES,
) -> None:
    """CRF on the single-scale and on the multi-scale + flip probabilities of every image of ``shard``.

    Writes the MAP label maps to ``output_crf_dir`` and ``output_ms_crf_dir``.
    """
    store = LazyStore(predictions)
    per_image_stage(
        dataset_root,
        split,
        shard,
        [output_crf_dir, output_ms_crf_dir],
        lambda index, single_dir, ms_dir: _CrfTask(index, store, single_dir, ms_dir, crf),
        workers=workers,
        desc="CRF",
    )
