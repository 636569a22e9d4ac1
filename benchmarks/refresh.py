"""The online G_ca refresh inside train_joint: its share of the rule's wall time, today vs new (and with overlap).

    python benchmarks/refresh.py --run results/voc12_sample --config configs/voc12_sample.yaml [--threads 2]

Trains the joint stage of a finished run again (its classifier, initial
labels and guidance maps, the run's joint settings) with today's code (the
``--baseline`` revision) and the new one, once with the paper's order and
once with ``ca_refresh_overlap``. Refresh seconds: today's refresh function,
timed; new: the ``epoch_end_seconds`` of the training log (the time the
epoch loop waits for the refresh).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from common import REPO, arguments, baseline_tree, header, load_config, run_snippet, table

TODAY = """
import json, time
from wsss_core import train
from wsss_core.crf import CrfParams
spent = [0.0]
refresh = train.refresh_ca_labels
def timed(*args, **kwargs):
    started = time.perf_counter()
    refresh(*args, **kwargs)
    spent[0] += time.perf_counter() - started
train.refresh_ca_labels = timed
started = time.perf_counter()
train.train_multitask({dataset!r}, {split!r}, {init!r}, {seg!r}, {prior!r}, {out!r} + "/joint.pt", {out!r} + "/ca",
                      {out!r} + "/joint.csv", train_config={train!r}, crf=CrfParams(**{crf!r}),
                      ca_prior_threshold={threshold!r}, ca_refresh_every={every!r}, max_side={max_side!r},
                      threads={threads}, workers={threads})
print(json.dumps({{"wall": time.perf_counter() - started, "refresh": spent[0]}}))
"""

NEW = """
import json, time
import pandas as pd
from wsss_core.ctlr.joint import train_joint
from wsss_core.crf import CrfParams
started = time.perf_counter()
train_joint({dataset!r}, {split!r}, {init!r}, {seg!r}, {prior!r}, {out!r} + "/joint.pt", {out!r} + "/ca",
            {out!r} + "/joint.csv", train_config={train!r}, crf=CrfParams(**{crf!r}),
            ca_prior_threshold={threshold!r}, ca_refresh_every={every!r}, ca_refresh_overlap={overlap!r},
            max_side={max_side!r}, batch_size={batch_size}, threads={threads}, workers={threads})
wall = time.perf_counter() - started
refresh = float(pd.read_csv({out!r} + "/joint.csv").get("epoch_end_seconds", pd.Series([0.0])).sum())
print(json.dumps({{"wall": wall, "refresh": refresh}}))
"""


def main() -> None:
    parser = arguments(__doc__.split("\n")[0], sample=False)
    parser.add_argument("--run", type=Path, required=True, help="results/<run> of a finished DAG")
    parser.add_argument("--config", type=Path, default=None, help="the config file the run was made with")
    parser.add_argument("--every", type=int, default=None, help="refresh every N epochs (default: the run's)")
    parser.add_argument("--versions", nargs="+", default=["today", "new", "overlap"], choices=["today", "new", "overlap"],
                        help="what to train, each one joint stage (overlap: new with ca_refresh_overlap)")  # fmt: skip
    args = parser.parse_args()
    args.run = args.run.resolve()
    config = load_config(args.config)
    guidance = args.run / ("saliency" if config["guidance"]["method"] != "objectness" else "objectness")
    settings = dict(
        dataset=str(args.run / "dataset"), split=config["dataset"]["train_split"],
        init=str(args.run / "checkpoints" / "classifier.pt"), seg=str(args.run / "labels" / "initial_pcam"),
        prior=str(guidance), train=config["joint"]["train"], crf=config["crf"]["class_agnostic"],
        threshold=config["labels"]["saliency_fg_threshold"], every=args.every or config["joint"]["ca_refresh_every"],
        max_side=config["inference"]["max_side"], threads=args.threads,
    )  # fmt: skip
    header(f"G_ca refresh in train_joint on {args.run} (refresh every {settings['every']} epochs)")
    rows = []
    with baseline_tree(args.baseline) as today, tempfile.TemporaryDirectory() as tmp:
        if "today" in args.versions:
            # today's loader took a number of workers, 0 by default
            today_settings = {**settings, "train": {**settings["train"], "num_workers": 0}}
            result = run_snippet(TODAY.format(out=f"{tmp}/today", **today_settings), root=today, threads=args.threads)
            rows.append({"version": "today", **result})
        for version, overlap in (("new", False), ("overlap", True)):
            if version in args.versions:
                code = NEW.format(out=f"{tmp}/new{overlap}", overlap=overlap, batch_size=config["inference"]["batch_size"], **settings)
                rows.append({"version": "new, overlap" if overlap else "new", **run_snippet(code, root=REPO, threads=args.threads)})
    for row in rows:
        row["share_pct"] = 100.0 * row["refresh"] / row["wall"]
    print(table(rows, ["version", "wall", "refresh", "share_pct"]))
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
