# Fig. 5b: joint training of the three branches on the initial labels, G_ca refreshed online (Eq. 4).
# Fig. 5d: the same rule retrains (fine-tunes) the network on the CTLR labels.


rule train_joint:
    input:
        dataset=dataset_root(),
        init=run_path(f"checkpoints/{config['joint']['init']}.pt"),
        seg_labels=run_path("labels/initial_pcam"),
        ca_prior=guidance_dir(),
    output:
        checkpoint=run_path("checkpoints/joint.pt"),
        ca_labels=directory(run_path("labels/online_ca_joint")),
        history=run_path("train_logs/joint.csv"),
    params:
        split=TRAIN_SPLIT,
        train=train_settings("joint"),
        ca_refresh_every=config["joint"]["ca_refresh_every"],
        ca_refresh_overlap=config["joint"]["ca_refresh_overlap"],
        ca_refresh_crf=config["joint"]["ca_refresh_crf"],
        ca_refresh_prediction=refresh_prediction("joint"),
        ca_labels=config["joint"]["ca_labels"],
        ca_prior_threshold=config["labels"]["saliency_fg_threshold"],
        crf=config["crf"]["class_agnostic"],
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
        loss_weights=config["loss_weights"],
    threads: config["threads"]["train"]
    resources:
        gpu=config["train_gpus"],
        mem_mb=config["mem_mb"]["train"],
    log:
        run_path("logs/train_joint.log"),
    benchmark:
        run_path("benchmarks/train_joint.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/train_joint.py"


use rule train_joint as retrain with:
    input:
        dataset=dataset_root(),
        init=run_path(f"checkpoints/{config['retrain']['init']}.pt"),
        seg_labels=run_path("labels/refined_seg"),
        ca_prior=run_path("labels/refined_ca"),
    output:
        checkpoint=run_path("checkpoints/retrain.pt"),
        ca_labels=directory(run_path("labels/online_ca_retrain")),
        history=run_path("train_logs/retrain.csv"),
    params:
        split=TRAIN_SPLIT,
        train=train_settings("retrain"),
        ca_refresh_every=config["retrain"]["ca_refresh_every"],
        ca_refresh_overlap=config["retrain"]["ca_refresh_overlap"],
        ca_refresh_crf=config["retrain"]["ca_refresh_crf"],
        ca_refresh_prediction=refresh_prediction("retrain"),
        ca_labels=config["retrain"]["ca_labels"],
        ca_prior_threshold=0.5,  # G_ca^ref is binary (0/255); any threshold in (0, 1) keeps it
        crf=config["crf"]["class_agnostic"],
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
        loss_weights=config["loss_weights"],
    log:
        run_path("logs/retrain.log"),
    benchmark:
        run_path("benchmarks/retrain.tsv")


# The fully supervised reference: the same network trained on ground-truth masks (target: supervised).


rule train_supervised:
    input:
        dataset=dataset_root(),
    output:
        checkpoint=run_path("checkpoints/supervised.pt"),
        history=run_path("train_logs/supervised.csv"),
    params:
        split=TRAIN_SPLIT,
        model=config["model"],
        train=train_settings("supervised"),
    threads: config["threads"]["train"]
    # when `snakemake all supervised` asks for both, the weak chain's tables come first
    priority: -10
    resources:
        gpu=config["train_gpus"],
        mem_mb=config["mem_mb"]["train"],
    log:
        run_path("logs/train_supervised.log"),
    benchmark:
        run_path("benchmarks/train_supervised.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/train_new_model.py"
