# Helpers of rules/report.smk: which tables, figures and panels the report of this run has. With
# seeds, the tables and charts are those over seeds; the image figures show the first seed's run.

from wsss_core.data.dataset import load_index
from wsss_core.io import InputError

REPORT = config["report"]


def report_path(relative):
    """Output of the report of this run's method: results/<run>/report/<method>/<relative> (one report for all seeds)."""
    return shared_path(f"report/{config['method']}/{relative}")


def headline_tables():
    """{table name: path} of the run's headline numbers (wsss_core.evaluate.headline), by method."""
    names = (
        ["pseudo_labels", "segmentation", "weak_vs_full"]
        if config["method"] == "ctlr"
        else ["sonet_pseudo_labels", f"sonet_segmentation_{config['supervision']}"]
    )
    return {name: shared_path(f"metrics/{name}.csv") for name in names}


# The report's start page: the run's headline numbers over the template report/workflow.rst,
# written by rule report; `snakemake --report` uses it once it exists.
REPORT_START = report_path("start.rst")

SONET_SETTING = config["guidance"]["objectness_setting"]

TABLE_TITLES = {
    "pseudo_labels": "Pseudo labels on the training split (CTLR Tables 6, 7)",
    "class_agnostic_labels": "Class-agnostic labels on the training split (CTLR Table 7)",
    "segmentation": "Segmentation on the evaluation split, per-class IoU (CTLR Table 8)",
    "segmentation_supervised": "Fully supervised reference, per-class IoU",
    "weak_vs_full": "Weakly vs fully supervised mIoU",
    "sonet_pseudo_labels": "SONet pseudo labels (Table 1a)",
    "sonet_segmentation_image": "SONet segmentation, image-level supervision (Table 1b)",
    "sonet_segmentation_box": "SONet segmentation, box supervision (Table 1b)",
}


def report_dataset():
    """(ground truth on the training split, the evaluation split exists) of the run's dataset.

    Generated, VOC and COCO data always have both; a folder dataset's own index is read to
    find out. An index that cannot be read plans the full report: validate_inputs, which
    every figure waits for, then lists what is wrong with it.
    """
    if config["dataset"]["kind"] != "folder":
        return True, True
    try:
        index = load_index(dataset_source())
        return all(index.has_mask(i) for i in index.ids(TRAIN_SPLIT)), EVAL_SPLIT in index.splits
    except InputError:
        return True, True


REPORT_GT, REPORT_EVAL = report_dataset()


def final_models():
    """The models whose predictions the report shows: retrain (CTLR), the SONet(s) of `supervision`."""
    return ["retrain"] if config["method"] == "ctlr" else sonet_models(config["supervision"])


def report_tables():
    """Names of the metric tables (metrics/<name>.csv) of this method; none without ground truth."""
    if not REPORT_GT:
        return []
    if config["method"] == "sonet":
        return ["sonet_pseudo_labels", f"sonet_segmentation_{config['supervision']}"]
    optional = [name for name in ("segmentation_supervised", "weak_vs_full") if os.path.exists(shared_path(f"metrics/{name}.csv"))]
    return ["pseudo_labels", "class_agnostic_labels", "segmentation", *optional]


def sonet_label(kind):
    """Directory of the SONet pseudo labels of ``kind`` in the run's objectness setting."""
    return first_seed_path(f"labels/sonet/{kind}/{SONET_SETTING if 'objectness' in kind else 'none'}")


def training_panels():
    """[title, kind, source] of each column of the training-image figure (grids.Panel)."""
    guidance = "objectness O" if config["guidance"]["method"] == "objectness" else "saliency Pt_sal"
    if config["method"] == "sonet":
        kinds = ["cam", "cam_objectness"]
        if "box" in SONET_SUPERVISIONS and (config["supervision"] == "box" or REPORT_GT):
            kinds += ["box", "box_objectness_ignore"]
        return [
            ["image", "image", None],
            ["GT", "gt", None],
            ["objectness O", "heat", first_seed_path(f"objectness/{SONET_SETTING}")],
            ["sCAM", "scam", None],
            *[[SYMBOLS[kind], "labels", sonet_label(kind)] for kind in kinds],
        ]
    return [
        ["image", "image", None],
        ["GT", "gt", None],
        [guidance, "heat", first_seed(guidance_dir())],
        ["sCAM", "scam", None],
        ["pCAM", "pcam", None],
        ["initial G_seg", "labels", first_seed_path("labels/initial_pcam")],
        ["online G_ca", "binary", first_seed_path("labels/online_ca_joint")],
        ["G_ca^ref", "binary", first_seed_path("labels/refined_ca")],
        ["G_seg^ref", "labels", first_seed_path("labels/refined_seg")],
    ]


def worst_pair_panels():
    """The training panels with the compared pair first among the label columns: initial vs refined
    (CTLR), C_m vs the label SONet trains on."""
    panels = training_panels()
    if config["method"] == "sonet":
        trained = "cam_objectness" if config["supervision"] == "image" else "box_objectness_ignore"
        labels = [p for p in panels if p[1] == "labels" and p[2] in (sonet_label("cam"), sonet_label(trained))]
        panels = [p for p in panels if p[1] != "labels"] + labels
    return panels


def panel_sources(panels):
    """Input files of a figure: the directory of each panel that reads one."""
    return {f"panel{i}": panel[2] for i, panel in enumerate(panels) if panel[2] is not None}


def training_logs():
    """{stage: [train_logs/<stage>.csv of every seed]} of the stages of this method."""
    if config["method"] == "sonet":
        stages = ["classifier", f"objectness_{SONET_SETTING}", *final_models()]
    else:
        stages = ["classifier", "joint", "retrain"]
    return {stage: seed_paths(f"train_logs/{stage}.csv") for stage in stages}


def report_figures():
    """{name: png} of the figures of the report; without GT no class-IoU chart, without an eval split no eval grid."""
    figures = {
        "training_images": report_path("figures/training_images.png"),
        "training_curves": report_path("figures/training_curves.png"),
        "worst": report_path("worst/disagreement.png"),
    }
    if REPORT_EVAL:
        figures["evaluation_images"] = report_path("figures/evaluation_images.png")
    if REPORT_GT:
        figures["class_iou"] = report_path("figures/class_iou.png")
    return figures
