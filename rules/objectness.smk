# SONet Sec. 2.1: the objectness network, trained on binary thing / stuff masks of a source
# dataset (all of it: overlapping; without images of the target's classes: non_overlapping, Eq. 1),
# then run on the target images. Its maps replace saliency wherever guidance.method is objectness.


rule train_objectness:
    input:
        dataset=dataset_root(),
        source=objectness_source_input(),
    output:
        checkpoint=run_path("checkpoints/objectness_{setting}.pt"),
        history=run_path("train_logs/objectness_{setting}.csv"),
    params:
        source_kind=config["objectness"]["source_kind"],
        source_root=objectness_source(),
        source_split=config["objectness"]["source_split"],
        class_map=config["objectness"]["class_map"],
        arch=config["objectness"]["arch"],
        backbone_weights=config["objectness"]["backbone_weights"],
        train=train_settings("objectness"),
    threads: config["threads"]["train"]
    resources:
        gpu=config["train_gpus"],
        mem_mb=config["mem_mb"]["train"],
    log:
        run_path("logs/train_objectness_{setting}.log"),
    benchmark:
        run_path("benchmarks/train_objectness_{setting}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/train_objectness.py"


rule objectness_maps:
    input:
        dataset=dataset_root(),
        checkpoint=run_path("checkpoints/objectness_{setting}.pt"),
    output:
        directory(run_path("objectness/{setting}")),
    params:
        split=TRAIN_SPLIT,
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
    threads: config["threads"]["train"]
    resources:
        gpu=1,
        mem_mb=config["mem_mb"]["inference"],
    log:
        run_path("logs/objectness_maps_{setting}.log"),
    benchmark:
        run_path("benchmarks/objectness_maps_{setting}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/objectness_maps.py"
