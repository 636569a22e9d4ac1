# Prediction (single scale and multi-scale + flip), CRF post-processing and the metric tables.


rule predict:
    input:
        dataset=lambda wildcards: split_root(wildcards.split),
        checkpoint=run_path("checkpoints/{model}.pt"),
    output:
        predictions=run_path("predictions/{model}/{split}.h5"),
        plain=directory(run_path("segmentation/{model}/{split}/plain")),
        ms=directory(run_path("segmentation/{model}/{split}/ms")),
    params:
        split=lambda wildcards: wildcards.split,
        # what the CRF step (seg_*) and the evaluation (the label maps) read; of Pr_seg only the
        # classes the CRF runs over (above crf.label_epsilon somewhere)
        arrays=["seg_single", "seg_ms"],
        channel_epsilon=config["crf"]["label_epsilon"],
        label_channels=False,
        scales=config["inference"]["scales"],
        flip=config["inference"]["flip"],
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
    threads: config["threads"]["train"]
    resources:
        gpu=1,
        mem_mb=config["mem_mb"]["inference"],
    log:
        run_path("logs/predict/{model}/{split}.log"),
    benchmark:
        run_path("benchmarks/predict/{model}/{split}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/predict.py"


# The joint model's predictions on the training split, for CTLR: only the arrays it reads.
use rule predict as predict_train with:
    input:
        dataset=dataset_root(),
        checkpoint=run_path("checkpoints/joint.pt"),
    output:
        predictions=run_path(f"predictions/joint/{TRAIN_SPLIT}.h5"),
    params:
        split=TRAIN_SPLIT,
        arrays=[f"seg_{config['ctlr']['prediction_variant']}", f"ca_{config['ctlr']['prediction_variant']}"],
        # of Pr_seg only background and the image's labels: what Supp (Eq. 6) leaves to Br_s
        channel_epsilon=0.0,
        label_channels=True,
        scales=config["inference"]["scales"],
        flip=config["inference"]["flip"],
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
    log:
        run_path(f"logs/predict/joint/{TRAIN_SPLIT}.log"),
    benchmark:
        run_path(f"benchmarks/predict/joint/{TRAIN_SPLIT}.tsv")


ruleorder: predict_train > predict


rule postprocess_crf:
    input:
        dataset=lambda wildcards: split_root(wildcards.split),
        predictions=run_path("predictions/{model}/{split}.h5"),
    output:
        crf=directory(shard_path("segmentation/{model}/{split}/{shard}/crf")),
        ms_crf=directory(shard_path("segmentation/{model}/{split}/{shard}/ms_crf")),
    params:
        crf=config["crf"]["postprocess"],
        label_epsilon=config["crf"]["label_epsilon"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/postprocess_crf/{model}/{split}/{shard}.log"),
    benchmark:
        run_path("benchmarks/postprocess_crf/{model}/{split}/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/postprocess_crf.py"


# sCAM and pCAM initial labels at every threshold of labels.threshold_sweep (Table 6: each at its own best).
rule cam_thresholds:
    input:
        dataset=dataset_root(),
        cams=run_path("cams.h5"),
        guidance=guidance_dir(),
    output:
        run_path("metrics/cam_thresholds.csv"),
    params:
        split=TRAIN_SPLIT,
        thresholds=config["labels"]["threshold_sweep"],
        saliency_fg_threshold=config["labels"]["saliency_fg_threshold"],
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/cam_thresholds.log"),
    benchmark:
        run_path("benchmarks/cam_thresholds.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/cam_thresholds.py"


rule evaluate_pseudo_labels:
    input:
        dataset=dataset_root(),
        scam=run_path("labels/initial_scam"),
        pcam=run_path("labels/initial_pcam"),
        ctlr=run_path("labels/refined_seg"),
        sweep=run_path("metrics/cam_thresholds.csv"),
    output:
        run_path("metrics/pseudo_labels.csv"),
    params:
        split=TRAIN_SPLIT,
        names={"scam": "sCAM-initial", "pcam": "pCAM-initial", "ctlr": "CTLR-refined"},
        # the CAM threshold of each row's labels (G_seg^ref fuses pCAM as the initial labels do)
        thresholds={
            "sCAM-initial": config["labels"]["scam_fg_threshold"],
            "pCAM-initial": config["labels"]["pcam_fg_threshold"],
            "CTLR-refined": config["labels"]["pcam_fg_threshold"],
        },
        fg_threshold=None,
    log:
        run_path("logs/evaluate_pseudo_labels.log"),
    benchmark:
        run_path("benchmarks/evaluate_pseudo_labels.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/evaluate_pseudo_labels.py"


use rule evaluate_pseudo_labels as evaluate_ca_labels with:
    input:
        dataset=dataset_root(),
        guidance=guidance_dir(),
        online_ca=run_path("labels/online_ca_joint"),
        refined_ca=run_path("labels/refined_ca"),
    output:
        run_path("metrics/class_agnostic_labels.csv"),
    params:
        split=TRAIN_SPLIT,
        names={"guidance": "saliency", "online_ca": "online-CA (joint)", "refined_ca": "CTLR-refined-CA"},
        thresholds=None,  # (the parameters of a derived rule add to those of evaluate_pseudo_labels)
        fg_threshold=config["labels"]["saliency_fg_threshold"],
    log:
        run_path("logs/evaluate_ca_labels.log"),
    benchmark:
        run_path("benchmarks/evaluate_ca_labels.tsv")


rule evaluate:
    input:
        dataset=eval_root(),
        predictions=[path for dirs in prediction_dirs(WEAK_MODELS).values() for path in dirs.values()],
    output:
        run_path("metrics/segmentation.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(prediction_dirs(WEAK_MODELS)),
    log:
        run_path("logs/evaluate.log"),
    benchmark:
        run_path("benchmarks/evaluate.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/evaluate_segmentation.py"


use rule evaluate as evaluate_supervised with:
    input:
        dataset=eval_root(),
        predictions=list(prediction_dirs(["supervised"])["supervised"].values()),
    output:
        run_path("metrics/segmentation_supervised.csv"),
    params:
        split=EVAL_SPLIT,
        prediction_dirs=seeded(prediction_dirs(["supervised"])),
    log:
        run_path("logs/evaluate_supervised.log"),
    benchmark:
        run_path("benchmarks/evaluate_supervised.tsv")


rule weak_vs_full:
    input:
        weak=run_path("metrics/segmentation.csv"),
        full=run_path("metrics/segmentation_supervised.csv"),
    output:
        run_path("metrics/weak_vs_full.csv"),
    params:
        weak_model="retrain",
        full_model="supervised",
    log:
        run_path("logs/weak_vs_full.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/weak_vs_full.py"


rule export_voc_test:
    input:
        dataset=split_root("test"),
        labels=run_path("segmentation/retrain/test/ms_crf"),
    output:
        directory(run_path("VOC2012/Segmentation/comp6_test_cls")),
    params:
        split="test",
    log:
        run_path("logs/export_voc_test.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/export_voc_test.py"
