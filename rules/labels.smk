# Initial pseudo labels G_seg^init: pCAM (or sCAM, for Table 6) fused with the guidance map (Sec. 3.4.1),
# one job per shard, joined by gather_initial_labels.


rule fuse_initial_labels:
    input:
        dataset=dataset_root(),
        cams=run_path("cams.h5"),
        guidance=guidance_dir(),
    output:
        labels=directory(shard_path("labels/initial_{cam}/{shard}")),
    params:
        split=TRAIN_SPLIT,
        # each normalisation at its own threshold (Table 6): labels.pcam_fg_threshold, labels.scam_fg_threshold
        cam_fg_threshold=lambda wildcards: config["labels"][f"{wildcards.cam}_fg_threshold"],
        saliency_fg_threshold=config["labels"]["saliency_fg_threshold"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/fuse_initial_labels_{cam}/{shard}.log"),
    benchmark:
        run_path("benchmarks/fuse_initial_labels_{cam}/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/fuse_initial_labels.py"
