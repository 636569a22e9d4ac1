"""Where the papers are silent: the authors' code against the workflow's defaults, measured paired over seeds.

    python benchmarks/authors_choices.py [--config configs/voc12_sample.yaml] --seeds 0 1 2 [--variant NAME ...]

The base run (config.yaml, or ``--config`` over it) is run once over ``--seeds``
as ``results/choices-<base>``; each variant then starts from a hard-linked copy
of it, changes one setting group to the CTLR authors' code (AuxSegNet, psa) and
re-runs, over the same seeds, the first rule the change reaches and what follows
(:func:`quality_study.run_variant`). Printed as Markdown, per variant: the
initial (pCAM) and CTLR-refined pseudo-label mIoU on the training split, the
joint and retrained networks' mIoU (ms_crf) on the evaluation split, each seed's
values, and variant minus base paired by seed with its 95 % t-interval.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from common import REPO, header, load_config, merge_config
from quality_study import ALL, run_variant

from wsss_core.evaluate.seeds import paired_differences

# variant -> (change, rules to re-run); the first rule each change reaches
VARIANTS: dict[str, tuple[dict, list[str]]] = {
    "authors' SGD (momentum 1e-5, no weight decay)": ({"train": {"momentum": 1.0e-5, "weight_decay": 0.0}}, ["train_classifier"]),
    "classifier head (Dropout2d 0.5, no bias, Xavier heads)": (
        {"model": {"classifier_dropout": 0.5, "classifier_bias": False, "head_init": "xavier"}}, ["train_classifier"],
    ),
    "decoders without batch norm": ({"model": {"decoder_batch_norm": False}}, ["train_classifier"]),
    "first convolution frozen": (None, ["train_classifier"]),  # the backbone's own first convolution: FIRST_CONV
    "refresh CRF_d of the authors (1 it., 3/3, 60/5/5, tau 1.05)": (
        {"crf": {"class_agnostic": {"iterations": 1, "gaussian_sxy": 3, "gaussian_compat": 3, "bilateral_sxy": 60,
                                    "bilateral_srgb": 5, "bilateral_compat": 5, "unary_tau": 1.05}}},
        ["train_joint"],
    ),  # fmt: skip
    "soft G_ca": ({"joint": {"ca_labels": "soft"}}, ["train_joint"]),
    "crop padding labelled background": ({"train": {"pad_label": "background"}}, ["train_joint"]),
    "no flip at test time": ({"inference": {"flip": False}}, ["predict_train", "predict"]),
}
# the first convolution of each backbone (psa and AuxSegNet keep ResNet-38's conv1a fixed)
FIRST_CONV = {"tiny": "layers.0.0", "mobilenet_v2": "features.0.0", "resnet38": "conv1a", "resnet50": "conv1", "resnet101": "conv1"}
MEASURES = {  # column of the table -> (table, row keys, value column)
    "initial labels (pCAM) mIoU": ("pseudo_labels", {"labels": "pCAM-initial"}, "mIoU"),
    "CTLR labels mIoU": ("pseudo_labels", {"labels": "CTLR-refined"}, "mIoU"),
    "joint ms_crf mIoU": ("segmentation", {"model": "joint", "postprocessing": "ms_crf"}, "mIoU"),
    "final (retrain ms_crf) mIoU": ("segmentation", {"model": "retrain", "postprocessing": "ms_crf"}, "mIoU"),
}


def per_seed(tables: dict[str, list[dict]], seeds: list[int]) -> pd.DataFrame:
    """One row per seed, one column per measure, from the tables over seeds of a run."""
    rows = []
    for seed in seeds:
        row = {}
        for measure, (table, keys, column) in MEASURES.items():
            match = [r for r in tables[table] if str(r["seed"]) == str(seed) and all(r[k] == v for k, v in keys.items())]
            row[measure] = float(match[0][column])
        rows.append(row)
    return pd.DataFrame(rows, index=seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=None, help="the base config over config.yaml (default: the demo)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", action="append", default=[], choices=sorted(VARIANTS))
    args = parser.parse_args()
    base_name = f"choices-{args.config.stem if args.config else 'demo'}"
    header(f"the authors' code against the defaults on {base_name.removeprefix('choices-')}, seeds {args.seeds}")
    base = merge_config(yaml.safe_load(args.config.read_text()) if args.config else {}, {"run": base_name, "seeds": args.seeds})
    base_file = REPO / "results" / f"{base_name}.yaml"
    base_file.parent.mkdir(exist_ok=True)
    base_file.write_text(yaml.safe_dump(base))
    command = [sys.executable, "-m", "snakemake", "all", "-s", str(REPO / "Snakefile"), "--cores", "2", "--configfile", str(base_file)]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    run = REPO / "results" / base_name
    targets = [name for name in ALL if name != "class_agnostic_labels"]
    base_tables = {name: pd.read_csv(run / "metrics" / f"{name}.csv").to_dict("records") for name in targets}
    base_values = per_seed(base_tables, args.seeds)
    print(f"### base\n\n{base_values.round(2).to_markdown()}\n")
    backbone = load_config(base_file)["model"]["backbone"]
    for name in args.variant or VARIANTS:
        change, rules = VARIANTS[name]
        change = change or {"model": {"backbone_options": {"frozen_layers": [FIRST_CONV[backbone]]}}}
        tables = run_variant(run, base_file, name, change, rules, targets)
        values = per_seed(tables, args.seeds)
        differences = paired_differences({seed: pd.concat([base_values.loc[[seed]], values.loc[[seed]]], ignore_index=True)
                                          for seed in args.seeds})  # fmt: skip
        print(f"### {name}\n\n{values.round(2).to_markdown()}\n")
        print(differences[["column", "difference", "low", "high", "n"]].round(2).to_markdown(index=False), "\n", flush=True)


if __name__ == "__main__":
    main()
