"""Test-time CRF: all labels (today) vs the labels above an epsilon (new); the CRF rule on 1 vs 2 workers.

    python benchmarks/crf.py --run results/voc12_sample [--images 40] [--threads 2]

Reads ``<run>/predictions/joint/<eval split>.h5`` (written by rule predict)
and the images of ``<run>/dataset``. Prints seconds per image (CPU, one
process) and the share of pixels whose label equals today's, per epsilon,
then the images per second of ``postprocess_crf`` with 1 and with ``--threads``
workers.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import arguments, header, table

from wsss_core.crf import DEEPLAB_CRF, crf_labels
from wsss_core.data.dataset import load_index
from wsss_core.inference.postprocess import postprocess_crf
from wsss_core.io import read_rgb
from wsss_core.store import read_store

EPSILONS = (1e-3, 1e-2, 0.05, 0.1, 0.2, 0.3)


def label_restriction(run: Path, split: str, count: int) -> list[dict]:
    """Rows per epsilon: s/image of today's CRF and of the restricted one, identical pixels, labels kept."""
    index = load_index(run / "dataset")
    ids = index.ids(split)[:count]
    rows = {eps: {"epsilon": eps, "today_s": 0.0, "new_s": 0.0, "same": 0, "labels": 0} for eps in EPSILONS}
    pixels = 0
    with read_store(run / "predictions" / "joint" / f"{split}.h5") as store:
        for image_id in ids:
            image, probs = read_rgb(index.image_path(image_id)), store.read(image_id, "seg_ms")["seg_ms"]
            started = time.process_time()
            today = crf_labels(image, probs, DEEPLAB_CRF, label_epsilon=0)
            today_s = time.process_time() - started
            pixels += today.size
            for eps, row in rows.items():
                started = time.process_time()
                labels = crf_labels(image, probs, DEEPLAB_CRF, label_epsilon=eps)
                row["new_s"] += time.process_time() - started
                row["today_s"] += today_s
                row["same"] += int((labels == today).sum())
                row["labels"] += int((probs.reshape(len(probs), -1).max(axis=1) > eps).sum())
    for row in rows.values():
        row.update(
            today_s=row["today_s"] / len(ids),
            new_s=row["new_s"] / len(ids),
            speedup=row["today_s"] / row["new_s"],
            identical_pct=100.0 * row["same"] / pixels,
            labels_per_image=row["labels"] / len(ids),
            labels_today=len(probs),
        )
    return list(rows.values())


def rule_throughput(run: Path, split: str, workers: int, epsilon: float) -> float:
    """Images per second of postprocess_crf (both CRF maps of every image) on ``workers`` processes."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        postprocess_crf(
            run / "dataset",
            split,
            run / "predictions" / "joint" / f"{split}.h5",
            Path(tmp) / "crf",
            Path(tmp) / "ms_crf",
            crf=DEEPLAB_CRF,
            label_epsilon=epsilon,
            workers=workers,
        )
        elapsed = time.perf_counter() - started
    return len(load_index(run / "dataset").ids(split)) / elapsed


def main() -> None:
    parser = arguments(__doc__.split("\n")[0], sample=False)
    parser.add_argument("--run", type=Path, required=True, help="results/<run> of a finished DAG")
    parser.add_argument("--split", default="val")
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--epsilon", type=float, default=1e-3, help="epsilon of the throughput runs")
    args = parser.parse_args()
    args.run = args.run.resolve()
    header(f"Test-time CRF on {args.run} ({args.split})")
    rows = label_restriction(args.run, args.split, args.images)
    columns = ["epsilon", "labels_today", "labels_per_image", "today_s", "new_s", "speedup", "identical_pct"]
    print(table(rows, columns))
    one = rule_throughput(args.run, args.split, 1, args.epsilon)
    many = rule_throughput(args.run, args.split, args.threads, args.epsilon)
    print(f"\npostprocess_crf: {one:.3f} images/s with 1 worker, {many:.3f} with {args.threads}: {many / one:.2f}x")


if __name__ == "__main__":
    main()
