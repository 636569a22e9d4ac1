"""Dense-CRF post-processing of predicted segmentation probabilities (Sec. 4.3.4, Table 8)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Iterator

import numpy as np

from wsss_core.crf import CrfParams, dense_crf
from wsss_core.data.dataset import load_index
from wsss_core.io import atomic_directory, read_rgb, write_label_map
from wsss_core.parallel import map_images
from wsss_core.sharding import ALL_IMAGES, Shard
from wsss_core.store import read_store

log = logging.getLogger(__name__)


def _crf_one(item: tuple[str, Path, np.ndarray, np.ndarray], single_dir: Path, ms_dir: Path, crf: CrfParams) -> None:
    image_id, image_path, seg_single, seg_ms = item
    image = read_rgb(image_path)
    write_label_map(single_dir / f"{image_id}.png", dense_crf(image, seg_single, crf).argmax(axis=0))
    write_label_map(ms_dir / f"{image_id}.png", dense_crf(image, seg_ms, crf).argmax(axis=0))


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
    index = load_index(dataset_root)
    ids = shard.select(index.ids(split))
    log.info("CRF post-processing of %d %s predictions from %s", len(ids), split, predictions)
    with (
        read_store(predictions) as store,
        atomic_directory(output_crf_dir) as single_dir,
        atomic_directory(output_ms_crf_dir) as ms_dir,
    ):

        def items() -> Iterator[tuple[str, Path, np.ndarray, np.ndarray]]:
            for image_id in ids:
                probs = store.read(image_id, "seg_single", "seg_ms")
                yield image_id, index.image_path(image_id), probs["seg_single"], probs["seg_ms"]

        run = functools.partial(_crf_one, single_dir=single_dir, ms_dir=ms_dir, crf=crf)
        map_images(run, items(), workers=workers, total=len(ids), desc=f"CRF {shard.name}")
