# SONet: pseudo labels from CAMs or boxes with objectness (Eq. 2-3), the segmentation network
# with its objectness module (Sec. 2.2, Eq. 4-5), and the tables of Table 1 (a) and (b).

SONET_MODEL = {
    **{key: config["sonet"][key] for key in ("arch", "objectness_width", "backbone_weights")},
    "output_stride": config["sonet"]["feature_stride"],
}
# The G^B SONet of Table 4, compared with the same network trained on ground truth (target sonet_supervised).
SONET_GB_MODEL = f"sonet-box_objectness-{config['guidance']['objectness_setting']}"


rule sonet_labels:
    input:
        unpack(sonet_label_inputs),
    output:
        directory(run_path("labels/sonet/{kind}/{setting}")),
    params:
        split=TRAIN_SPLIT,
        delta=config["sonet"]["delta"],
        cam_threshold=config["sonet"]["cam_threshold"],
        objectness_threshold=config["sonet"]["objectness_threshold"],
        alpha=config["sonet"]["alpha"],
        inner_fraction=config["sonet"]["inner_fraction"],
        sdi_inner_fraction=config["sonet"]["sdi_inner_fraction"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/sonet_labels/{kind}/{setting}.log"),
    benchmark:
        run_path("benchmarks/sonet_labels/{kind}/{setting}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/sonet_labels.py"


rule train_sonet:
    input:
        dataset=dataset_root(),
        seg_labels=run_path("labels/sonet/{kind}/{setting}"),
        # O of the objectness branch: the objectness network of the labels (SONet-O: the non-overlapping one)
        objectness=lambda wildcards: run_path(f"objectness/{sonet_objectness_setting(wildcards.setting)}"),
    output:
        checkpoint=run_path("checkpoints/sonet-{kind}-{setting}.pt"),
        history=run_path("train_logs/sonet-{kind}-{setting}.csv"),
    params:
        split=TRAIN_SPLIT,
        model=SONET_MODEL,
        train=train_settings("sonet"),
        objectness_threshold=config["sonet"]["objectness_threshold"],
    threads: config["threads"]["train"]
    resources:
        gpu=config["train_gpus"],
        mem_mb=config["mem_mb"]["train"],
    log:
        run_path("logs/train_sonet-{kind}-{setting}.log"),
    benchmark:
        run_path("benchmarks/train_sonet-{kind}-{setting}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/train_sonet.py"


use rule evaluate_pseudo_labels as evaluate_sonet_labels with:
    input:
        dataset=dataset_root(),
        **{
            name: run_path(f"labels/sonet/{kind}/{setting}")
            for name, (kind, setting) in sonet_label_sets().items()
        },
    output:
        run_path("metrics/sonet_pseudo_labels.csv"),
    params:
        split=TRAIN_SPLIT,
        names={
            name: label_set_name(kind, setting)
            for name, (kind, setting) in sonet_label_sets().items()
        },
        fg_threshold=None,
        thresholds=None,
    log:
        run_path("logs/evaluate_sonet_labels.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_labels.tsv")


use rule evaluate as evaluate_sonet with:
    input:
        dataset=eval_root(),
        predictions=lambda wildcards: [
            path for dirs in prediction_dirs(sonet_models(wildcards.supervision)).values() for path in dirs.values()
        ],
    output:
        run_path("metrics/sonet_segmentation_{supervision}.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(lambda wildcards: prediction_dirs(sonet_models(wildcards.supervision))),
    log:
        run_path("logs/evaluate_sonet_{supervision}.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_{supervision}.tsv")


# Tables 2-4's fully supervised baseline: plain DeepLabv3 (SONet's network without the objectness
# branch) on the ground-truth masks.
use rule train_sonet as train_sonet_supervised with:
    input:
        dataset=dataset_root(),
    params:
        split=TRAIN_SPLIT,
        model={**SONET_MODEL, "objectness_branch": False},
        train=train_settings("sonet"),
        objectness_threshold=config["sonet"]["objectness_threshold"],
    output:
        checkpoint=run_path("checkpoints/sonet-supervised-none.pt"),
        history=run_path("train_logs/sonet-supervised-none.csv"),
    log:
        run_path("logs/train_sonet-supervised-none.log"),
    benchmark:
        run_path("benchmarks/train_sonet-supervised-none.tsv")


use rule evaluate as evaluate_sonet_vs_full with:
    input:
        dataset=eval_root(),
        predictions=[path for dirs in prediction_dirs([SONET_GB_MODEL, "sonet-supervised-none"]).values() for path in dirs.values()],
    output:
        run_path("metrics/sonet_segmentation_supervised.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(prediction_dirs([SONET_GB_MODEL, "sonet-supervised-none"])),
    log:
        run_path("logs/evaluate_sonet_vs_full.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_vs_full.tsv")


use rule weak_vs_full as sonet_vs_full with:
    input:
        weak=run_path("metrics/sonet_segmentation_supervised.csv"),
        full=run_path("metrics/sonet_segmentation_supervised.csv"),
    output:
        run_path("metrics/sonet_weak_vs_full.csv"),
    params:
        weak_model=SONET_GB_MODEL,
        full_model="sonet-supervised-none",
    log:
        run_path("logs/sonet_vs_full.log"),
