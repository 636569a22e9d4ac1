"""Estimated wall time of the paper DAG (configs/voc12_paper.yaml) on N cores + G GPUs, today vs new.

    python benchmarks/paper_dag_estimate.py --run results/voc12_sample [--cores 16] [--gpus 1] [--mfu 0.4]

Measures on this machine, on real VOC photos of a finished sample run, the CPU
seconds per image of every piece of host work (image decoding, training
samples, CRFs, store writes and reads, label maps), counts the GPU FLOPs per
image of ResNet-38 at the paper's sizes (torch's FlopCounterMode on the meta
device), and models each rule of the DAG as it runs today and as it runs now:

* today: GPU work and host work alternate per image (prediction, CAMs, the
  G_ca refresh), the refresh's CRFs run on ``threads.train`` processes fed by
  the training process, the CRF rules are fed by one process, test-time CRFs
  use all 21 labels, and the data loader is rebuilt every epoch;
* new: batched forward passes with a writer thread (GPU and host work
  overlap), CRFs on every core with workers reading their own inputs, the
  test-time CRF over the labels that occur, a persistent data loader, and the
  G_ca refresh's CRF as configs/voc12_paper.yaml sets ``joint.ca_refresh_crf``
  (``torch``: on the GPU, its time modelled from the bytes it moves at
  ``--hbm-tbs`` x ``--efficiency``; the host work on ``threads.train`` threads).

GPU seconds = FLOPs / (peak x ``--mfu``); the GPU check (benchmarks/gpu_check.sh)
measures the real throughput where a GPU is available. The DAG's rules are
added up in order (conservative: the CRF of the joint model's predictions
could overlap retraining).
"""

from __future__ import annotations

import io
import json
import pickle
import tempfile
import time
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import torch
import yaml
from common import REPO, arguments, header, table
from crf_backends import modelled_gpu_seconds
from torch.utils.flop_counter import FlopCounterMode

from wsss_core.crf import DEEPLAB_CRF, CrfParams, crf_foreground, crf_labels, dense_crf
from wsss_core.ctlr.ca_labels import write_ca_label
from wsss_core.data.dataset import load_index
from wsss_core.data.training import WeakLabelDataset
from wsss_core.engine.config import TrainConfig
from wsss_core.guidance.maps import read_guidance
from wsss_core.io import read_gray, read_image_size, read_rgb, write_gray, write_label_map
from wsss_core.models.multitask import build_model
from wsss_core.store import read_store

PAPER = yaml.safe_load((REPO / "configs" / "voc12_paper.yaml").read_text())
PAPER_EPSILON = yaml.safe_load((REPO / "config.yaml").read_text())["crf"]["label_epsilon"]
VOC = {"train": 10582, "val": 1449, "test": 1456}  # train_aug, val, test
STEP_LAUNCH_S = 0.003  # kernel launches of a ResNet-38 step exposed by a host sync (assumed)
LOADER_START_S = 1.5  # starting the data-loader workers (today: every epoch)


def _cpu(function: Callable[[], object], repeat: int) -> float:
    """CPU seconds of one call (mean of ``repeat``)."""
    started = time.process_time()
    for _ in range(repeat):
        function()
    return (time.process_time() - started) / repeat


def _write_arrays(arrays: dict[str, np.ndarray], options: dict) -> None:
    with h5py.File(io.BytesIO(), "w") as handle:
        for name, array in arrays.items():
            handle.create_dataset(name, data=array.astype(np.float16), **options)


def host_costs(run: Path, images: int, tmp: Path) -> dict[str, float]:
    """CPU seconds per image of the host work, measured on the sample run's photos and arrays."""
    index = load_index(run / "dataset")
    ids = index.ids("train")[:images]
    saliency = run / "saliency" / f"{ids[0]}.png"
    path, image = index.image_path(ids[0]), read_rgb(index.image_path(ids[0]))
    # real maps of one photo: Pr_seg over the 21 labels and Pr_ca (the joint model's training-split
    # prediction at photo size; channels a store left out read as zeros) and its CAMs;
    # the channels the new stores keep of Pr_seg
    with read_store(run / "predictions" / "joint" / "train.h5") as store:
        record = store.read(ids[0], "seg_ms", "ca_ms")
    seg, ca = record["seg_ms"], record["ca_ms"]
    with h5py.File(run / "cams.h5", "r") as store:
        cams = {name: store[ids[0]][name][()] for name in ("cam", "scam", "pcam")}
    train_seg = seg[[0, *index.present_classes(ids[0])]]  # background + the image's labels
    eval_seg = seg[seg.reshape(21, -1).max(axis=1) > PAPER_EPSILON]  # the labels above crf.label_epsilon
    lzf, shuffle = {"compression": "lzf"}, {"compression": "lzf", "shuffle": True}
    samples = WeakLabelDataset(index, ids, TrainConfig.from_config({**PAPER["train"], "epochs": 1}), ground_truth=True)
    cost = {
        "decode": _cpu(lambda: read_rgb(path), 20),
        "train_sample": _cpu(lambda: [samples[i] for i in range(len(ids))], 1) / len(ids),
        "saliency_today": _cpu(lambda: (read_rgb(path), write_gray(tmp / "s.png", read_gray(saliency))), 10),
        "saliency_new": _cpu(lambda: (read_image_size(path), write_gray(tmp / "s.png", read_gray(saliency))), 10),
        "crf2": _cpu(lambda: crf_foreground(image, ca, CrfParams()), 3),
        "crf21_today": _cpu(lambda: dense_crf(image, seg, DEEPLAB_CRF).argmax(axis=0), 2),
        "crf21_new": _cpu(lambda: crf_labels(image, seg, DEEPLAB_CRF, label_epsilon=PAPER_EPSILON), 2),
        "labels_png": _cpu(lambda: write_label_map(tmp / "l.png", seg.argmax(axis=0)), 10),
        "predict_store_today": _cpu(lambda: _write_arrays({"a": seg, "b": ca, "c": seg, "d": ca}, lzf), 3),
        "predict_store_new": _cpu(lambda: _write_arrays({"a": train_seg, "b": ca}, shuffle), 3),
        "predict_store_new_eval": _cpu(lambda: _write_arrays({"a": eval_seg, "c": eval_seg}, shuffle), 3),
        "cams_store_today": _cpu(lambda: _write_arrays(cams, lzf), 5),
        "cams_store_new": _cpu(lambda: _write_arrays(cams, shuffle), 5),
        "feed_today": _cpu(lambda: pickle.dumps((read_rgb(path), seg.astype(np.float16).astype(np.float32))), 10),
        "refresh_feed_today": _cpu(lambda: pickle.dumps((read_rgb(path), ca)), 10),
        # the host side of a refresh with the torch CRF: decode, prior, unary, PNG (the CRF runs on the GPU)
        "refresh_host_torch": _cpu(
            lambda: (
                read_rgb(path),
                read_guidance(saliency, ca.shape),
                -np.log(np.maximum(np.stack([1.0 - ca, ca]), 1e-5)),
                write_ca_label(tmp / "c.png", ca > 0.5),
            ),
            10,
        ),
    }
    return cost


def torch_crf_gpu_seconds(run: Path, bytes_per_second: float) -> float:
    """GPU seconds of the torch backend's CRF_d on the run's first training photo, from the bytes its kernels move."""
    index = load_index(run / "dataset")
    return modelled_gpu_seconds(read_rgb(index.image_path(index.ids("train")[0])), CrfParams(), bytes_per_second)


def gpu_flops() -> dict[str, float]:
    """FLOPs per image of ResNet-38 (decoders of width 256, 21 labels) at the paper's sizes."""
    with torch.device("meta"):
        model = build_model({"num_classes": 20, "backbone": "resnet38", "decoder_channels": 256})

    def count(run: Callable[[], object]) -> float:
        with FlopCounterMode(display=False) as counter:
            run()
        return float(counter.get_total_flops())

    crop = PAPER["train"]["crop_size"]

    def train_step() -> None:
        out = model(torch.randn(4, 3, crop, crop, device="meta"))
        sum(value.float().mean() for key, value in out.items() if key != "features").backward()

    def forward(scale: float, branches: tuple[str, ...]) -> Callable[[], object]:
        size = (round(375 * scale), round(500 * scale))
        return lambda: model(torch.randn(1, 3, *size, device="meta"), branches=branches)

    scales = PAPER["inference"]["scales"]
    return {
        "train": count(train_step) / 4,
        "cams": count(forward(1.0, ())),
        "refresh": count(forward(1.0, ("ca",))),
        "predict_ms": 2 * sum(count(forward(scale, ("ca", "seg"))) for scale in scales),
        "predict_single": count(forward(1.0, ("ca", "seg"))),
    }


def model_rules(
    cost: dict[str, float], flops: dict[str, float], crf_gpu_s: float, cores: int, gpus: int, seconds_per_flop: float
) -> list[dict]:
    """(rule, today s, new s) for every rule of the paper DAG; ``crf_gpu_s``: the torch CRF of one photo on a GPU."""
    n, val, test = VOC["train"], VOC["val"], VOC["test"]
    epochs = {stage: PAPER[stage]["train"]["epochs"] for stage in ("classifier", "joint", "retrain")}
    refreshes = len([e for e in range(1, epochs["joint"]) if e % PAPER["joint"]["ca_refresh_every"] == 0])
    gpu = lambda name, count=1: flops[name] * seconds_per_flop * count / gpus  # noqa: E731
    threads = PAPER["threads"]["train"]
    loader = lambda workers: cost["train_sample"] / max(1, workers)  # noqa: E731  seconds per sample
    batch = PAPER["train"]["batch_size"]

    def training(stage: str, today: bool) -> float:
        per_image = max(gpu("train"), loader(threads if today else cores - 1))
        steps = epochs[stage] * n / batch
        extra = steps * STEP_LAUNCH_S + epochs[stage] * LOADER_START_S if today else 0.0
        return epochs[stage] * n * per_image + extra

    def refresh(today: bool) -> float:
        if today:  # batch-1 forward, decode and pickling in the trainer; CRFs on threads.train workers
            feeder = gpu("refresh") + cost["decode"] + cost["refresh_feed_today"]
            return n * max(feeder, cost["crf2"] / threads)
        if PAPER["joint"].get("ca_refresh_crf") == "torch":  # CRFs on the GPU, host work on the rule's threads
            return n * max(gpu("refresh") + crf_gpu_s / gpus, cost["refresh_host_torch"] / threads)
        return n * max(gpu("refresh"), cost["crf2"] / cores)

    def per_image_cpu(work: float, feed: float, today: bool) -> float:
        return work / cores if not today else max(work / cores, feed)

    rows = []
    for name, today, new in (
        ("index_dataset", 0.005 * sum(VOC.values()), 0.005 * sum(VOC.values())),
        ("extract_saliency", n * cost["saliency_today"] / cores, n * cost["saliency_new"] / cores),
        ("train_classifier", training("classifier", True), training("classifier", False)),
        ("dump_cams", n * (gpu("cams") + cost["cams_store_today"]), n * max(gpu("cams"), cost["cams_store_new"])),
        ("fuse_initial_labels x2", 2 * n * 0.02 / cores, 2 * n * 0.02 / cores),
        ("train_joint: training", training("joint", True), training("joint", False)),
        ("train_joint: G_ca refresh", refreshes * refresh(True), refreshes * refresh(False)),
        (
            "predict (joint, train)",
            n * (gpu("predict_ms") + gpu("predict_single") + cost["predict_store_today"] + 2 * cost["labels_png"]),
            n * max(gpu("predict_ms"), cost["predict_store_new"]),
        ),
        ("refine_ctlr", n * per_image_cpu(cost["crf2"], cost["feed_today"], True), n * cost["crf2"] / cores),
        ("retrain", training("retrain", True), training("retrain", False)),
        (
            "predict (val x2, test)",
            (2 * val + test) * (gpu("predict_ms") + gpu("predict_single") + cost["predict_store_today"] + 2 * cost["labels_png"]),
            (2 * val + test) * max(gpu("predict_ms"), cost["predict_store_new_eval"] + 2 * cost["labels_png"]),
        ),
        (
            "postprocess_crf (val x2, test)",
            (2 * val + test) * per_image_cpu(2 * cost["crf21_today"], 2 * cost["feed_today"], True),
            (2 * val + test) * 2 * cost["crf21_new"] / cores,
        ),
    ):
        rows.append({"rule": name, "today_min": today / 60, "new_min": new / 60})
    return rows


def main() -> None:
    parser = arguments(__doc__.split("\n")[0], sample=False)
    parser.add_argument("--run", type=Path, required=True, help="results/<run> of a finished sample run")
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--gpus", type=int, default=1)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="GPU bf16 dense peak (H200: 989)")
    parser.add_argument("--mfu", type=float, default=0.4, help="share of the peak a convolution network reaches")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--hbm-tbs", type=float, default=4.8, help="GPU memory bandwidth, TB/s (H200: 4.8)")
    parser.add_argument("--efficiency", type=float, default=0.25, help="share of it the torch CRF's kernels reach")
    args = parser.parse_args()
    torch.set_num_threads(1)
    header(f"Paper DAG estimate ({args.cores} cores + {args.gpus} GPU)")
    with tempfile.TemporaryDirectory() as tmp:
        cost = host_costs(args.run, args.images, Path(tmp))
    flops = gpu_flops()
    print("CPU seconds per image (one core):", json.dumps({k: round(v, 4) for k, v in cost.items()}))
    print("GPU TFLOP per image:", json.dumps({k: round(v / 1e12, 3) for k, v in flops.items()}), "\n")
    crf_gpu_s = torch_crf_gpu_seconds(args.run, args.hbm_tbs * 1e12 * args.efficiency)
    print(f"torch CRF_d of one photo on the GPU (modelled): {1e3 * crf_gpu_s:.2f} ms")
    rows = model_rules(cost, flops, crf_gpu_s, args.cores, args.gpus, 1.0 / (args.peak_tflops * 1e12 * args.mfu))
    rows.append({"rule": "total", "today_min": sum(r["today_min"] for r in rows), "new_min": sum(r["new_min"] for r in rows)})
    print(table(rows, ["rule", "today_min", "new_min"]))
    today, new = rows[-1]["today_min"] / 60, rows[-1]["new_min"] / 60
    print(f"\npaper DAG estimate ({args.cores} cores + {args.gpus} GPU): today {today:.1f} h, new {new:.1f} h")


if __name__ == "__main__":
    main()
