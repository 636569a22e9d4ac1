"""The quality study of the real-photo issue: variants of one run, each sharing every output it does not change.

    python benchmarks/quality_study.py trace      --run results/voc12_sample
    python benchmarks/quality_study.py thresholds --run results/voc12_sample
    python benchmarks/quality_study.py fusions    --run results/voc12_sample [--cams joint --config ...] [--combinations]
    python benchmarks/quality_study.py variants   --run results/voc12_sample --config configs/voc12_sample.yaml \\
                                                  --question ctlr_inputs [--question ...] [--variant NAME ...]

``trace`` follows the training images of a finished run through CTLR (Eq. 5):
the foreground share and foreground IoU (against the ground truth) of the
saliency map, Pr_ca, Br_s(Pr_seg), their mean, the CRF output and the stored
G_ca^ref, overall and per class. ``thresholds`` sweeps the fusion threshold of
sCAM and pCAM (Sec. 3.4.1) with the run's guidance maps (rule cam_thresholds).
``fusions`` fuses the run's pCAMs with each of its class-agnostic maps and with
the ground truth's foreground: how far G_seg^ref can rise with a better
G_ca^ref; ``--combinations`` adds the joint network's own maps and their
combinations with the saliency map. Each fusion is also scored with its
conflicts labelled by the semantic branch (the ``filled_*`` columns).
Both take the pCAMs of the run's classifier (its ``cams.h5``) or, with
``--cams joint`` / ``retrain``, those of that network's classification
branch (Eq. 1-3, computed once at the config's ``inference.max_side`` into
``results/study-<run>-cams-<model>.h5``). The thresholds, CRF_d and
``max_side`` these tools use are config.yaml's overlaid with ``--config``.
``variants`` runs the variants of the named questions: each starts from a
hard-linked copy of the run (``results/study-<run>-<variant>``), changes its settings and re-runs, with
Snakemake's ``--forcerun``, the first rule the change reaches and what
follows; then it collects the tables. Every table is printed as Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from common import REPO, foreground_counts, header, load_config, merge_config, table

from wsss_core.crf import CrfParams, crf_foreground
from wsss_core.ctlr.cams import dump_cams
from wsss_core.ctlr.initial_labels import fuse_initial_labels
from wsss_core.ctlr.refine import binarize_segmentation, suppress_by_image_labels
from wsss_core.ctlr.thresholds import sweep_cam_thresholds
from wsss_core.data.dataset import load_index
from wsss_core.evaluate.metrics import confusion_matrix, scores
from wsss_core.evaluate.tables import read_ground_truth
from wsss_core.io import IGNORE_LABEL, read_gray, read_rgb
from wsss_core.store import read_store

# question -> {variant: (config override, rules to re-run, targets)}
PSEUDO = ["pseudo_labels", "class_agnostic_labels"]
ALL = ["pseudo_labels", "class_agnostic_labels", "segmentation"]
QUESTIONS: dict[str, dict[str, tuple[dict, list[str], list[str]]]] = {
    "ctlr_inputs": {
        "single-scale Pr": ({"ctlr": {"prediction_variant": "single"}}, ["predict_train"], PSEUDO),
        "CRF_d sxy 30": ({"crf": {"class_agnostic": {"bilateral_sxy": 30}}}, ["refine_ctlr"], PSEUDO),
        "CRF_d sxy 80": ({"crf": {"class_agnostic": {"bilateral_sxy": 80}}}, ["refine_ctlr"], PSEUDO),
        "CRF_d srgb 5": ({"crf": {"class_agnostic": {"bilateral_srgb": 5}}}, ["refine_ctlr"], PSEUDO),
        "CRF_d srgb 25": ({"crf": {"class_agnostic": {"bilateral_srgb": 25}}}, ["refine_ctlr"], PSEUDO),
        "CRF_d compat 5": ({"crf": {"class_agnostic": {"bilateral_compat": 5}}}, ["refine_ctlr"], PSEUDO),
        "Pr at max_side 384": ({"inference": {"max_side": 384}}, ["predict_train"], PSEUDO),
    },
    "schedule": {
        "supervised 16 epochs": ({"supervised": {"train": {"epochs": 16}}}, ["train_supervised"], ["segmentation_supervised"]),
    },
    "retrain": {
        # the joint model's schedule (4 epochs at lr 0.005 on the sample) on G^ref instead of the initial labels
        "retrain from the classifier": (
            {"retrain": {"init": "classifier", "train": {"epochs": 4, "lr": 0.005}}}, ["retrain"], ["segmentation"]
        ),
    },
    "refresh_crf": {
        "torch CRF": ({"joint": {"ca_refresh_crf": "torch"}}, ["train_joint"], ALL),
    },
    "refresh": {
        "no refresh": ({"joint": {"ca_refresh_every": 0}}, ["train_joint"], ALL),
        "every epoch": ({"joint": {"ca_refresh_every": 1}}, ["train_joint"], ALL),
        "overlapped": ({"joint": {"ca_refresh_overlap": True}}, ["train_joint"], ALL),
    },
    "refresh_prediction": {
        "ms Pr_ca": ({"joint": {"ca_refresh_prediction": "ms"}}, ["train_joint"], ALL),
    },
    "joint_init": {
        "joint from an untrained network": ({"joint": {"init": "backbone"}}, ["train_joint"], ALL),
    },
    "loss_weights": {  # every weight given: the variants do not depend on the base config's
        "L_seg x2": ({"loss_weights": {"cls": 1.0, "ca": 1.0, "seg": 2.0}}, ["train_joint"], ALL),
        "L_ca x2": ({"loss_weights": {"cls": 1.0, "ca": 2.0, "seg": 1.0}}, ["train_joint"], ALL),
    },
    "ca_weight": {
        "L_ca x3": ({"loss_weights": {"cls": 1.0, "ca": 3.0, "seg": 1.0}}, ["train_joint"], ALL),
        "L_ca x4": ({"loss_weights": {"cls": 1.0, "ca": 4.0, "seg": 1.0}}, ["train_joint"], ALL),
    },
    "seg_weight": {  # on the sample's L_ca x2
        "L_ca x2, L_seg x0.5": ({"loss_weights": {"cls": 1.0, "ca": 2.0, "seg": 0.5}}, ["train_joint"], ALL),
    },
}


def trace(run: Path, split: str, crf: CrfParams) -> list[dict]:
    """Foreground share and IoU of every step of Eq. 5 on the training ``split`` (ground truth needed)."""
    index = load_index(run / "dataset")
    ids = index.ids(split)
    steps = ("saliency > 0.5", "Pr_ca > 0.5", "Br_s(Pr_seg)", "(Pr_ca + Br_s) / 2 > 0.5", "CRF_d (G_ca^ref)", "online G_ca")
    sums = {step: np.zeros(3, dtype=np.int64) for step in steps}
    truth_share = np.zeros(2, dtype=np.int64)
    with read_store(run / "predictions" / "joint" / f"{split}.h5") as store:
        for image_id in ids:
            truth_map = read_ground_truth(index, image_id)
            valid, truth = truth_map != 255, (truth_map > 0) & (truth_map != 255)
            record = store.read(image_id, "seg_ms", "ca_ms")
            br = binarize_segmentation(record["seg_ms"], index.present_classes(image_id)) > 0
            mean = (record["ca_ms"] + br) / 2
            masks = {
                steps[0]: read_gray(run / "saliency" / f"{image_id}.png") / 255.0 > 0.5,
                steps[1]: record["ca_ms"] > 0.5,
                steps[2]: br,
                steps[3]: mean > 0.5,
                steps[4]: crf_foreground(read_rgb(index.image_path(image_id)), mean, crf) > 0,
                steps[5]: read_gray(run / "labels" / "online_ca_joint" / f"{image_id}.png") > 0,
            }
            for step, mask in masks.items():
                sums[step] += foreground_counts(mask, truth, valid)
            truth_share += (int((truth & valid).sum()), int(valid.sum()))
    rows = [{"step": "ground truth", "fg_share_pct": 100 * truth_share[0] / truth_share[1], "fg_IoU": 100.0}]
    for step, (inter, union, fg) in sums.items():
        rows.append({"step": step, "fg_share_pct": 100 * fg / truth_share[1], "fg_IoU": 100 * inter / union})
    return rows


def thresholds(run: Path, split: str, cams_file: Path, labels_config: dict) -> list[dict]:
    """The run's CAM threshold sweep (rule cam_thresholds) with the CAMs of ``cams_file``: one row per CAM and threshold."""
    sweep = sweep_cam_thresholds(run / "dataset", split, cams_file, run / "saliency", None, workers=os.cpu_count() or 1,
                                 thresholds=labels_config["threshold_sweep"], fg_threshold=labels_config["saliency_fg_threshold"])  # fmt: skip
    return sweep.to_dict("records")


def _class_agnostic_maps(run: Path, image_id: str, truth: np.ndarray, ca_prob: np.ndarray, br: np.ndarray,
                         crf: CrfParams | None, image_path: Path) -> dict[str, np.ndarray]:  # fmt: skip
    """The class-agnostic maps (values in [0, 1]) ``fusions`` fuses pCAM with, for one image.

    The run's saliency map, online G_ca, G_ca^ref and the ground truth's
    foreground; with ``crf``, also the joint network's own maps (Pr_ca,
    Br_s(Pr_seg)) and their combinations with the saliency map: CRF_d of the
    mean of two or three of them (as in Eq. 4-5), and their majority.
    """
    read = lambda folder: read_gray(run / folder / f"{image_id}.png") / 255.0  # noqa: E731
    maps = {"saliency (G_seg^init)": read("saliency"), "online G_ca": read("labels/online_ca_joint"),
            "G_ca^ref (G_seg^ref)": read("labels/refined_ca"), "ground-truth foreground": truth.astype(np.float32)}  # fmt: skip
    if crf is None:
        return maps
    saliency, image = maps["saliency (G_seg^init)"], read_rgb(image_path)
    return {
        **maps, "Pr_ca": ca_prob, "Br_s(Pr_seg)": br,
        "CRF_d((Pr_ca + Pt_sal) / 2)": crf_foreground(image, (ca_prob + saliency) / 2, crf),
        "CRF_d((Br_s + Pt_sal) / 2)": crf_foreground(image, (br + saliency) / 2, crf),
        "CRF_d((Pr_ca + Br_s + Pt_sal) / 3)": crf_foreground(image, (ca_prob + br + saliency) / 3, crf),
        "majority of Pr_ca, Br_s, Pt_sal": (((ca_prob > 0.5).astype(np.int8) + br + (saliency > 0.5)) >= 2).astype(np.float32),
    }  # fmt: skip


def fusions(run: Path, split: str, cams_file: Path, config: dict, crf: CrfParams | None) -> list[dict]:
    """pCAM of ``cams_file`` fused by the initial-label rule (Sec. 3.4.1) with each class-agnostic map of ``run``.

    The saliency map gives G_seg^init and G_ca^ref gives G_seg^ref (Eq. 5-7);
    the online G_ca and the ground truth's own object / background split show
    what a better class-agnostic map could make of the same pCAMs; with
    ``crf``, the joint network's maps and their combinations with the saliency
    map (:func:`_class_agnostic_maps`) show whether any beats the saliency map.
    Each fusion is scored as it is (conflicts ignored) and with its conflicts
    labelled by the joint network's semantic branch (argmax of Supp(Pr_seg),
    Eq. 6): the ``filled_*`` columns.
    """
    index = load_index(run / "dataset")
    ids = index.ids(split)
    labels_config, variant = config["labels"], config["ctlr"]["prediction_variant"]
    confusions, foreground = {}, {}
    with read_store(cams_file) as cams, read_store(run / "predictions" / "joint" / f"{split}.h5") as predictions:
        for image_id in ids:
            record, truth_map = cams.read(image_id, "pcam"), read_ground_truth(index, image_id)
            valid, truth = truth_map != IGNORE_LABEL, (truth_map > 0) & (truth_map != IGNORE_LABEL)
            classes = tuple(int(c) for c in record["classes"])
            probs = predictions.read(image_id, f"seg_{variant}", f"ca_{variant}")
            seg_labels = suppress_by_image_labels(probs[f"seg_{variant}"], classes).argmax(axis=0)
            br = binarize_segmentation(probs[f"seg_{variant}"], classes).astype(np.float32)
            maps = _class_agnostic_maps(run, image_id, truth, probs[f"ca_{variant}"], br, crf, index.image_path(image_id))
            for name, fg in maps.items():
                labels = fuse_initial_labels(record["pcam"], classes, fg, cam_fg_threshold=labels_config["pcam_fg_threshold"],
                                             fg_threshold=labels_config["saliency_fg_threshold"])  # fmt: skip
                filled = np.where(labels == IGNORE_LABEL, seg_labels, labels)
                for key, fused in ((name, labels), ((name, "filled"), filled)):
                    confusions[key] = confusions.get(key, 0) + confusion_matrix(fused, truth_map, index.num_classes + 1)
                counts = foreground_counts(fg > labels_config["saliency_fg_threshold"], truth, valid)
                foreground[name] = foreground.get(name, 0) + np.asarray(counts)
    rows = []
    for name, (inter, union, _) in foreground.items():
        result, filled = scores(confusions[name]), scores(confusions[name, "filled"])
        rows.append({"class-agnostic map": name, "fg_IoU": 100 * inter / union, "mIoU": 100 * result["miou"],
                     "F1": 100 * result["mean_f1"], "coverage": 100 * result["coverage"],
                     "filled_mIoU": 100 * filled["miou"], "filled_F1": 100 * filled["mean_f1"]})  # fmt: skip
    return rows


def cams_of(run: Path, model: str, split: str, config: dict) -> Path:
    """The CAM store of ``model``'s classification branch: the run's own for the classifier, else computed once."""
    if model == "classifier":
        return run / "cams.h5"
    store = run.parent / f"study-{run.name}-cams-{model}.h5"
    if not store.exists():
        dump_cams(run / "dataset", split, run / "checkpoints" / f"{model}.pt", store, max_side=config["inference"]["max_side"],
                  batch_size=config["inference"]["batch_size"], threads=os.cpu_count())  # fmt: skip
    return store


def run_variant(run: Path, config_file: Path | None, name: str, change: dict, rules: list[str], targets: list[str]) -> dict:
    """Run one variant in a hard-linked copy of ``run``; its metric tables (path -> rows)."""
    base_config = yaml.safe_load(config_file.read_text()) if config_file else {}
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    variant = run.parent / f"study-{run.name}-{slug}"
    if not variant.exists():
        subprocess.run(["cp", "-al", str(run), str(variant)], check=True)
        for small in ("logs", "benchmarks"):  # written in place by a re-run job: copies, not links (and kept:
            if (run / small).exists():  # a missing benchmark file would make Snakemake re-run its rule)
                shutil.rmtree(variant / small)
                shutil.copytree(run / small, variant / small)
    override = variant / "study.yaml"
    override.write_text(yaml.safe_dump(merge_config(base_config, {**change, "run": variant.name})))
    workdir = run.parent.parent  # Snakemake's targets are relative to it, as the rules' outputs are
    files = [str(Path(run.parent.name, variant.name, "metrics", f"{target}.csv")) for target in targets]
    snakemake = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", str(os.cpu_count() or 2),
                 "--rerun-triggers", "mtime", "--configfile", str(override)]  # fmt: skip
    # first mark the copied outputs up to date (inputs newer than the run, e.g. a re-copied dataset,
    # would re-run the DAG), then re-run the changed rules and what follows them
    for command in ([*snakemake, "--touch", "--", *files], [*snakemake, "--forcerun", *rules, "--", *files]):
        result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"variant {name} failed:\n{result.stderr[-4000:]}")
    return {target: pd.read_csv(workdir / path).to_dict("records") for target, path in zip(targets, files)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("trace", "thresholds", "fusions", "variants"))
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--split", default="train", help="the training split of the run")
    parser.add_argument("--question", action="append", default=[], choices=sorted(QUESTIONS))
    parser.add_argument("--variant", action="append", default=[], help="run only these variants (of every --question)")
    parser.add_argument("--cams", choices=("classifier", "joint", "retrain"), default="classifier",
                        help="thresholds, fusions: whose classification branch gives the CAMs")  # fmt: skip
    parser.add_argument("--combinations", action="store_true",
                        help="fusions: also the joint network's class-agnostic maps and their CRF_d / majority with the saliency map")  # fmt: skip
    args = parser.parse_args()
    fuses_cams = args.what in ("thresholds", "fusions")
    header(f"{args.what} on {args.run}" + (f", CAMs of the {args.cams} network" if fuses_cams else ""))
    config = load_config(args.config)
    cams = cams_of(args.run, args.cams, args.split, config) if fuses_cams else None
    if args.what == "trace":
        crf = CrfParams.from_config(config["crf"]["class_agnostic"])
        print(table(trace(args.run, args.split, crf), ["step", "fg_share_pct", "fg_IoU"]))
    elif args.what == "thresholds":
        columns = ["CAM", "threshold", "mIoU", "F1", "coverage", "ignored_map_only", "map_only_gt_object",
                   "ignored_cam_only", "cam_only_gt_object"]  # fmt: skip
        print(table(thresholds(args.run, args.split, cams, config["labels"]), columns))
    elif args.what == "fusions":
        crf = CrfParams.from_config(config["crf"]["class_agnostic"]) if args.combinations else None
        columns = ["class-agnostic map", "fg_IoU", "mIoU", "F1", "coverage", "filled_mIoU", "filled_F1"]
        print(table(fusions(args.run, args.split, cams, config, crf), columns))
    chosen = {
        question: {name: spec for name, spec in QUESTIONS[question].items() if not args.variant or name in args.variant}
        for question in args.question
    }
    for question, variants in chosen.items():
        if not variants:
            parser.error(f"question {question} has none of the variants {args.variant}: {sorted(QUESTIONS[question])}")
    for question, variants in chosen.items():
        results = {name: run_variant(args.run, args.config, name, *spec) for name, spec in variants.items()}
        print(f"\n### {question}\n\n```json\n{json.dumps(results, indent=1)}\n```")


if __name__ == "__main__":
    main()
