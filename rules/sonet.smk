# SONet: pseudo labels from CAMs or boxes with objectness (Eq. 2-3), the segmentation network
# with its objectness module (Sec. 2.2, Eq. 4-5), and the tables of Table 1 (a) and (b).


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
        objectness=run_path(f"objectness/{config['guidance']['objectness_setting']}"),
    output:
        checkpoint=run_path("checkpoints/sonet-{kind}-{setting}.pt"),
        history=run_path("train_logs/sonet-{kind}-{setting}.csv"),
    params:
        split=TRAIN_SPLIT,
        model={"arch": config["sonet"]["arch"], "objectness_width": config["sonet"]["objectness_width"]},
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
            name: SONET_LABEL_NAMES[kind] + ("" if setting == "none" else f" ({setting.replace('_', '-')})")
            for name, (kind, setting) in sonet_label_sets().items()
        },
        fg_threshold=None,
    log:
        run_path("logs/evaluate_sonet_labels.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_labels.tsv")


use rule evaluate as evaluate_sonet with:
    input:
        dataset=dataset_root(),
        predictions=lambda wildcards: [
            path for dirs in prediction_dirs(sonet_models(wildcards.supervision)).values() for path in dirs.values()
        ],
    output:
        run_path("metrics/sonet_segmentation_{supervision}.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=lambda wildcards: prediction_dirs(sonet_models(wildcards.supervision)),
    log:
        run_path("logs/evaluate_sonet_{supervision}.log"),
    benchmark:
        run_path("benchmarks/evaluate_sonet_{supervision}.tsv")
