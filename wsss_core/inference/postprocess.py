"""Rule postprocess_crf: dense-CRF post-processing of predicted segmentation probabilities (Sec. 4.3.4, Table 8)."""

from __future__ import annotations

from pathlib import Path

from wsss_core.crf import CrfParams, crf_labels
from wsss_core.data.dataset import DatasetIndex
from wsss_core.io import read_rgb, write_label_map
from wsss_core.parallel import per_image_stage
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import LazyStore


class _CrfTask:
    """The CRF of one image id on its single-scale and its multi-scale + flip probabilities."""

    def __init__(
        self, index: DatasetIndex, store: LazyStore, output_dirs: dict[str, Path], crf: CrfParams, label_epsilon: float
    ) -> None:
        self.index, self.store, self.output_dirs = index, store, output_dirs
        self.crf, self.label_epsilon = crf, label_epsilon

    def __call__(self, image_id: str) -> None:
        probs = self.store.read(image_id, *self.output_dirs)
        image = read_rgb(self.index.image_path(image_id))
        for name, directory in self.output_dirs.items():
            labels = crf_labels(image, probs[name], self.crf, label_epsilon=self.label_epsilon)
            write_label_map(directory / f"{image_id}.png", labels)


def postprocess_crf(
    dataset_root: str | Path,
    split: str,
    predictions: str | Path,
    output_crf_dir: str | Path,
    output_ms_crf_dir: str | Path,
    *,
    crf: CrfParams,
    label_epsilon: float,
    workers: int = 1,
    shard: Shard = ALL_IMAGES,
) -> None:
    """CRF on the single-scale and on the multi-scale + flip probabilities of every image of ``shard``.

    Writes the MAP label maps to ``output_crf_dir`` and ``output_ms_crf_dir``;
    the CRF of a map runs over its labels above ``label_epsilon``
    (:func:`wsss_core.crf.crf_labels`). Workers read their own image and
    probabilities.
    """
    store = LazyStore(predictions)
    per_image_stage(
        dataset_root,
        split,
        shard,
        [output_crf_dir, output_ms_crf_dir],
        lambda index, single_dir, ms_dir: _CrfTask(
            index, store, {"seg_single": single_dir, "seg_ms": ms_dir}, crf, label_epsilon
        ),
        workers=workers,
        desc="CRF",
    )
