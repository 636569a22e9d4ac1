# Fig. 5a: the classification branch alone (other branches frozen).


rule train_classifier:
    input:
        dataset=dataset_root(),
    output:
        checkpoint=run_path("checkpoints/classifier.pt"),
        history=run_path("train_logs/classifier.csv"),
    params:
        split=TRAIN_SPLIT,
        model=config["model"],
        train=train_settings("classifier"),
    threads: config["threads"]["train"]
    resources:
        gpu=config["train_gpus"],
        mem_mb=config["mem_mb"]["train"],
    log:
        run_path("logs/train_classifier.log"),
    benchmark:
        run_path("benchmarks/train_classifier.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/train_new_model.py"


# joint.init: backbone: the network train_joint starts from instead of the classifier, untrained.
rule new_network:
    input:
        dataset=dataset_root(),
    output:
        checkpoint=run_path("checkpoints/backbone.pt"),
    params:
        model=config["model"],
        train=train_settings("joint"),
    log:
        run_path("logs/new_network.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/new_network.py"
