"""Rule predict: host CPU seconds and store bytes per image, today vs new, and the store layouts compared.

    python benchmarks/predict.py --run results/voc12_sample [--images 30] [--threads 2]

Runs today's ``predict_split`` (the ``--baseline`` revision) and the new one
on the first ``--images`` images of the eval and the train split, with the
run's joint checkpoint and its inference settings (config.yaml, or the
``--config`` the run was made with). Host CPU = the process's CPU time minus
the CPU time of the device work: the torch code on the device's tensors, from
the normalised input tensor to the fused probabilities (network, resizing,
softmax, max fusion: today's ``predict_probs``, the new ``predict_batch``)
and, new, their float16 conversion, channel selection and argmax label maps
(``device_outputs``), which a GPU takes over. Decoding, copies to numpy,
today's numpy argmax and float16 conversion, the store and the label PNGs
stay host work. The new writer thread is run in line so that its work is
counted as host CPU. Then it compares HDF5 layouts on the arrays just written.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from common import REPO, arguments, baseline_tree, header, load_config, run_snippet, table

TIMED_DEVICE = """
import json, resource, sys, time
spent = [0.0]
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
def timed(function):
    def wrapper(*args, **kwargs):
        started = cpu()
        out = function(*args, **kwargs)
        spent[0] += cpu() - started
        return out
    return wrapper
"""

TODAY = TIMED_DEVICE + """
import wsss_core.infer as infer
from wsss_core.infer import predict_split
infer.predict_probs = timed(infer.predict_probs)
started = cpu()
predict_split({dataset!r}, {split!r}, {checkpoint!r}, {store!r}, {plain!r}, {ms!r}, scales={scales!r},
              flip={flip!r}, max_side={max_side!r}, threads={threads})
print(json.dumps({{"cpu": cpu() - started, "device": spent[0]}}))
"""

NEW = TIMED_DEVICE + """
import contextlib
import wsss_core.inference.predict as predict
predict.predict_batch = timed(predict.predict_batch)
predict.device_outputs = timed(predict.device_outputs)
class InLine:
    def submit(self, function, *args):
        function(*args)
predict.ordered_writer = lambda depth=8: contextlib.nullcontext(InLine())
started = cpu()
predict.predict_split({dataset!r}, {split!r}, {checkpoint!r}, {store!r}, arrays={arrays!r}, label_dirs={labels!r},
                      scales={scales!r}, flip={flip!r}, max_side={max_side!r}, batch_size={batch_size},
                      threads={threads}, channel_epsilon={channel_epsilon!r}, label_channels={label_channels!r})
print(json.dumps({{"cpu": cpu() - started, "device": spent[0]}}))
"""


def _subset(run: Path, count: int, work: Path) -> Path:
    """A copy of the run's dataset index restricted to the first ``count`` images of each split."""
    subset = work / "dataset"
    shutil.copytree(run / "dataset", subset)
    with (run / "dataset" / "files.csv").open(newline="") as handle:  # again with absolute paths, for the copy
        files = [(row["image_id"], run / "dataset" / row["image"], row["mask"]) for row in csv.DictReader(handle)]
    rows = [f"{image_id},{image.resolve()},{(run / 'dataset' / mask).resolve() if mask else ''}" for image_id, image, mask in files]
    (subset / "files.csv").write_text("image_id,image,mask\n" + "".join(f"{row}\n" for row in rows))
    lines = (subset / "image_labels.csv").read_text().splitlines()
    kept, seen = [lines[0]], {}
    for line in lines[1:]:
        split = line.split(",")[1]
        seen[split] = seen.get(split, 0) + 1
        if seen[split] <= count:
            kept.append(line)
    (subset / "image_labels.csv").write_text("\n".join(kept) + "\n")
    return subset


def measure(args, run: Path, split: str, arrays: list[str], labels: bool, root_today: Path, work: Path) -> list[dict]:
    """Host CPU s/image and bytes/image of today's and the new predict on ``split``."""
    config = load_config(args.config)
    inference = config["inference"]
    settings = dict(scales=inference["scales"], flip=inference["flip"], max_side=inference["max_side"])
    dataset, checkpoint = str(_subset(run, args.images, work / split)), str(run / "checkpoints" / "joint.pt")
    rows = []
    for version in ("today", "new"):
        out = work / split / version
        store = str(out / "store.h5")
        if version == "today":
            code = TODAY.format(dataset=dataset, split=split, checkpoint=checkpoint, store=store, plain=str(out / "plain"),
                                ms=str(out / "ms"), threads=args.threads, **settings)  # fmt: skip
            result = run_snippet(code, root=root_today, threads=args.threads)
        else:
            label_dirs = {"single": str(out / "plain"), "ms": str(out / "ms")} if labels else {}
            code = NEW.format(dataset=dataset, split=split, checkpoint=checkpoint, store=store, arrays=arrays,
                              labels=label_dirs, batch_size=inference["batch_size"], threads=args.threads,
                              channel_epsilon=config["crf"]["label_epsilon"] if labels else 0.0,
                              label_channels=not labels, **settings)  # fmt: skip
            result = run_snippet(code, root=REPO, threads=args.threads)
        host = (result["cpu"] - result["device"]) / args.images
        size = os.path.getsize(store) / args.images
        rows.append({"split": split, "version": version, "host_cpu_s": host, "device_cpu_s": result["device"] / args.images,
                     "store_MB": size / 1e6})  # fmt: skip
    rows[1]["host_ratio"] = rows[1]["host_cpu_s"] / rows[0]["host_cpu_s"]
    rows[1]["bytes_ratio"] = rows[1]["store_MB"] / rows[0]["store_MB"]
    return rows


LAYOUTS = {
    "float16, none": ({}, False),
    "float16, LZF (today)": ({"compression": "lzf"}, False),
    "float16, shuffle + LZF (new)": ({"compression": "lzf", "shuffle": True}, False),
    "float16, shuffle + gzip 1": ({"compression": "gzip", "compression_opts": 1, "shuffle": True}, False),
    "float16, shuffle + gzip 4": ({"compression": "gzip", "compression_opts": 4, "shuffle": True}, False),
    "uint8 (p x 255), none": ({}, True),
    "uint8 (p x 255), shuffle + LZF": ({"compression": "lzf", "shuffle": True}, True),
    "uint8 (p x 255), gzip 1": ({"compression": "gzip", "compression_opts": 1}, True),
}


def layouts(store: Path, work: Path) -> list[dict]:
    """Bytes (relative to float16 uncompressed), write and read CPU ms per image of each layout."""
    with h5py.File(store, "r") as handle:
        arrays = [handle[image_id][name][()] for image_id in handle for name in handle[image_id]]
    images = len(arrays) / 2
    raw = sum(array.nbytes for array in arrays)
    rows = []
    for name, (options, quantise) in LAYOUTS.items():
        data = [np.round(a.astype(np.float32) * 255).astype(np.uint8) if quantise else a for a in arrays]
        path = work / "layout.h5"
        started = time.process_time()
        with h5py.File(path, "w") as handle:
            for number, array in enumerate(data):
                handle.create_dataset(str(number), data=array, **options)
        written = time.process_time() - started
        started = time.process_time()
        with h5py.File(path, "r") as handle:
            for number in range(len(data)):
                handle[str(number)][()].astype(np.float32)
        read = time.process_time() - started
        rows.append({"layout": name, "bytes": os.path.getsize(path) / raw, "write_ms": 1000 * written / images,
                     "read_ms": 1000 * read / images})  # fmt: skip
    return rows


def main() -> None:
    parser = arguments(__doc__.split("\n")[0], sample=False)
    parser.add_argument("--run", type=Path, required=True, help="results/<run> of a finished DAG")
    parser.add_argument("--config", type=Path, default=None, help="the config file the run was made with")
    parser.add_argument("--images", type=int, default=30)
    args = parser.parse_args()
    args.run = args.run.resolve()
    config = load_config(args.config)
    variant = config["ctlr"]["prediction_variant"]
    header(f"Rule predict on {args.images} images per split of {args.run}")
    with baseline_tree(args.baseline) as today, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = measure(args, args.run, config["dataset"]["eval_split"], ["seg_single", "seg_ms"], True, today, work)
        rows += measure(args, args.run, config["dataset"]["train_split"], [f"seg_{variant}", f"ca_{variant}"], False, today, work)
        print(table(rows, ["split", "version", "host_cpu_s", "device_cpu_s", "store_MB", "host_ratio", "bytes_ratio"]))
        print("\nHDF5 layouts on the new train-split store:\n")
        print(table(layouts(work / config["dataset"]["train_split"] / "new" / "store.h5", work), ["layout", "bytes", "write_ms", "read_ms"]))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
