# Initial pseudo labels G_seg^init: pCAM (or sCAM, for Table 6) fused with saliency (Sec. 3.4.1).


rule fuse_initial_labels:
    input:
        dataset=dataset_root(),
        cams=run_path("cams.h5"),
        saliency=guidance_dir(),
    output:
        directory(run_path("labels/initial_{cam}")),
    params:
        split=TRAIN_SPLIT,
        pcam_fg_threshold=config["labels"]["pcam_fg_threshold"],
        saliency_fg_threshold=config["labels"]["saliency_fg_threshold"],
    threads: config["threads"]["per_image"]
    log:
        run_path("logs/fuse_initial_labels_{cam}.log"),
    benchmark:
        run_path("benchmarks/fuse_initial_labels_{cam}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/fuse_initial_labels.py"
