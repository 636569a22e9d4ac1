# Target `ablations`: CTLR Tables 5-8 and SONet Table 1(a)/(b) + Fig. 3(c) from one config. The
# variants are extra wildcard values of the shared rules (models ablation-<variant>, SONet labels
# with setting `saliency`), so every output they have in common with the main DAG is built once.

GUIDANCE_SETTINGS = ("overlapping", "non_overlapping", "saliency")
GUIDANCE_KINDS = [kind for kind in ("cam_objectness", "box_objectness") if kind in SONET_DATASET_KINDS]
ABLATION_MODELS = [f"ablation-{variant}" for variant in ABLATION_VARIANTS]
# SONet's tables need an objectness network (a source dataset) and, for G^B, the dataset's boxes
SONET_ABLATIONS = [
    "sonet_pseudo_labels",
    *[f"sonet_segmentation_{supervision}" for supervision in SONET_SUPERVISIONS],
    "ablations/guidance_labels",
]


use rule train_joint as train_ablation with:
    input:
        dataset=dataset_root(),
        init=run_path(f"checkpoints/{config['joint']['init']}.pt"),
        seg_labels=lambda wildcards: run_path(f"labels/initial_{ABLATION_VARIANTS[wildcards.variant][1]}"),
        ca_prior=guidance_dir(),
    output:
        checkpoint=run_path("checkpoints/ablation-{variant}.pt"),
        ca_labels=directory(run_path("labels/online_ca_ablation-{variant}")),
        history=run_path("train_logs/ablation-{variant}.csv"),
    params:
        split=TRAIN_SPLIT,
        train=train_settings("joint"),
        branches=lambda wildcards: ABLATION_VARIANTS[wildcards.variant][0],
        # G_ca is refreshed from the CA branch (Eq. 4): without it the first G_ca is kept
        ca_refresh_every=lambda wildcards: (
            config["joint"]["ca_refresh_every"] if "ca" in ABLATION_VARIANTS[wildcards.variant][0] else 0
        ),
        ca_refresh_overlap=config["joint"]["ca_refresh_overlap"],
        ca_refresh_crf=config["joint"]["ca_refresh_crf"],
        ca_refresh_prediction=refresh_prediction("joint"),
        ca_labels=config["joint"]["ca_labels"],
        ca_prior_threshold=config["labels"]["saliency_fg_threshold"],
        crf=config["crf"]["class_agnostic"],
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
        loss_weights=config["loss_weights"],
    log:
        run_path("logs/train_ablation-{variant}.log"),
    benchmark:
        run_path("benchmarks/train_ablation-{variant}.tsv")


use rule evaluate as evaluate_ablations with:
    input:
        dataset=eval_root(),
        predictions=[run_path(f"segmentation/{model}/{EVAL_SPLIT}/plain") for model in ABLATION_MODELS],
    output:
        run_path("metrics/ablations/segmentation_variants.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(
            {model: {"plain": run_path(f"segmentation/{model}/{EVAL_SPLIT}/plain")} for model in ABLATION_MODELS}
        ),
    log:
        run_path("logs/evaluate_ablations.log"),
    benchmark:
        run_path("benchmarks/evaluate_ablations.tsv")


use rule evaluate_pseudo_labels as evaluate_guidance_labels with:
    input:
        dataset=dataset_root(),
        **{
            f"{kind}__{setting}": run_path(f"labels/sonet/{kind}/{setting}")
            for kind in GUIDANCE_KINDS
            for setting in GUIDANCE_SETTINGS
        },
    output:
        run_path("metrics/ablations/guidance_labels.csv"),
    params:
        split=TRAIN_SPLIT,
        names={
            f"{kind}__{setting}": label_set_name(kind, setting)
            for kind in GUIDANCE_KINDS
            for setting in GUIDANCE_SETTINGS
        },
        fg_threshold=None,
        thresholds=None,
    log:
        run_path("logs/evaluate_guidance_labels.log"),
    benchmark:
        run_path("benchmarks/evaluate_guidance_labels.tsv")


ABLATION_INPUTS = {
    name: run_path(f"metrics/{name}.csv")
    for name in (
        "pseudo_labels", "class_agnostic_labels", "segmentation", "ablations/segmentation_variants",
        *(SONET_ABLATIONS if objectness_source_available() and config["sonet"]["ablations"] else []),
    )
}


rule ablation_tables:
    input:
        **{name.removeprefix("ablations/"): path for name, path in ABLATION_INPUTS.items()},
    output:
        tables=directory(run_path("metrics/ablations/tables")),
        markdown=run_path("ablations.md"),
    params:
        run=config["run"],
    log:
        run_path("logs/ablation_tables.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/ablation_tables.py"


rule ablations:
    input:
        shared_path("ablations.md"),
