# Cross-task label refinement (Sec. 3.4.2, Eq. 5-7): G_ca^ref and G_seg^ref,
# one job per shard, joined by gather_refined_labels.


rule refine_ctlr:
    input:
        dataset=dataset_root(),
        predictions=run_path(f"predictions/joint/{TRAIN_SPLIT}.h5"),
        cams=run_path("cams.h5"),
    output:
        ca_labels=directory(shard_path("labels/refined_ca/{shard}")),
        seg_labels=directory(shard_path("labels/refined_seg/{shard}")),
    params:
        split=TRAIN_SPLIT,
        pcam_fg_threshold=config["labels"]["pcam_fg_threshold"],
        prediction_variant=config["ctlr"]["prediction_variant"],
        crf=config["crf"]["class_agnostic"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/refine_ctlr/{shard}.log"),
    benchmark:
        run_path("benchmarks/refine_ctlr/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/refine_ctlr.py"


# What CTLR changed, read without ground truth (warns when G_ca^ref's foreground leaves the bounds).
rule ctlr_change:
    input:
        dataset=dataset_root(),
        initial=run_path("labels/initial_pcam"),
        refined=run_path("labels/refined_seg"),
        guidance=guidance_dir(),
        online_ca=run_path("labels/online_ca_joint"),
        refined_ca=run_path("labels/refined_ca"),
    output:
        run_path("metrics/ctlr_change.csv"),
    params:
        split=TRAIN_SPLIT,
        saliency_fg_threshold=config["labels"]["saliency_fg_threshold"],
        fg_ratio_bounds=config["ctlr"]["fg_ratio_bounds"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/ctlr_change.log"),
    benchmark:
        run_path("benchmarks/ctlr_change.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/ctlr_change.py"
