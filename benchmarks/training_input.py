"""Training input: steps per second of the training loop with 0, 1 and N data-loader workers, today vs new.

    python benchmarks/training_input.py [--data generated|sample] [--threads 2] [--epochs 2]

Trains the classifier stage (the tiny backbone on the generated data, the
sample config's MobileNetV2 on the shared VOC sample) for ``--epochs`` epochs
with today's loop (``--baseline``: a DataLoader built every epoch, a host sync
per loss term and step) and the new one (one persistent loader, losses summed
on the device), at each worker count. The weights of every new run equal
those of the run without workers (checked).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from common import REPO, arguments, baseline_tree, header, run_snippet, table

SNIPPET = """
import json, time, torch
from {module} import train_classifier
started = time.perf_counter()
train_classifier({dataset!r}, "train", {out!r} + ".pt", {out!r} + ".csv", model_config={model!r},
                 train_config={train!r}, threads={threads})
print(json.dumps({{"wall": time.perf_counter() - started}}))
"""

GENERATED = {"model": {"backbone": "tiny"}, "train": {"batch_size": 16, "lr": 0.02, "crop_size": 112}}
SAMPLE = {
    "model": {"backbone": "mobilenet_v2", "backbone_options": {"weights": "imagenet"}},
    "train": {"batch_size": 8, "lr": 0.005, "crop_size": 192, "scale_range": [0.4, 0.65], "color_jitter": 0.3},
}


def _dataset(kind: str, sample: Path, tmp: Path) -> Path:
    if kind == "generated":
        from wsss_core.data.synthetic import generate_dataset

        generate_dataset(tmp / "generated", num_train=200, num_val=1, image_size=128, seed=0, num_classes=6, num_source=0)
        return tmp / "generated"
    from wsss_core.data.voc import index_voc

    index_voc(sample, tmp / "sample", splits={"train": "train.txt"})
    return tmp / "sample"


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("generated", "sample"), default="generated")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    setting = GENERATED if args.data == "generated" else SAMPLE
    header(f"Training input, classifier stage on the {args.data} data, {args.threads} threads")
    rows, weights = [], {}
    with baseline_tree(args.baseline) as today, tempfile.TemporaryDirectory() as tmp:
        dataset = _dataset(args.data, args.sample, Path(tmp))
        for version, root, module in (("today", today, "wsss_core.train"), ("new", REPO, "wsss_core.ctlr.training")):
            for workers in sorted({0, 1, args.threads}):
                out = f"{tmp}/{version}{workers}"
                train = {**setting["train"], "epochs": args.epochs, "num_workers": workers}
                code = SNIPPET.format(module=module, dataset=str(dataset), out=out, model=setting["model"], train=train,
                                      threads=args.threads)  # fmt: skip
                result = run_snippet(code, root=root, threads=args.threads)
                rows.append({"version": version, "num_workers": workers, "wall_s": result["wall"]})
                weights[(version, workers)] = out + ".pt"
        import torch

        reference = torch.load(weights[("new", 0)], weights_only=True)["state_dict"]
        for (version, workers), path in weights.items():
            state = torch.load(path, weights_only=True)["state_dict"]
            same = all(torch.equal(state[key], value) for key, value in reference.items())
            next(r for r in rows if r["version"] == version and r["num_workers"] == workers)["same_weights"] = same
    base = next(r["wall_s"] for r in rows if r["version"] == "today" and r["num_workers"] == 0)
    for row in rows:
        row["ratio_to_today_0"] = row["wall_s"] / base
    print(table(rows, ["version", "num_workers", "wall_s", "ratio_to_today_0", "same_weights"]))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
