# validate_inputs: the whole dataset checked in one pass before any other stage runs (every
# stage reads the validated index). One job per shard of the images, then gather_validation
# lists every problem in results/<run>/validation.txt and fails once, or writes the index.


rule validate_inputs:
    input:
        dataset=dataset_source(),
        guidance=precomputed_guidance(),
    output:
        report=shard_path("validation/{shard}.json"),
    params:
        train_split=TRAIN_SPLIT,
        eval_split=EVAL_SPLIT,
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        run_path("logs/validate_inputs/{shard}.log"),
    benchmark:
        run_path("benchmarks/validate_inputs/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/validate_inputs.py"


rule gather_validation:
    input:
        dataset=dataset_source(),
        reports=shard_parts("validation/{shard}.json"),
    output:
        index=directory(dataset_root()),
    params:
        train_split=TRAIN_SPLIT,
        eval_split=EVAL_SPLIT,
        empty_labels=config["dataset"]["empty_labels"],
    log:
        # a log, so that Snakemake keeps the list of problems when the rule fails
        log=run_path("logs/gather/validation.log"),
        report=run_path("validation.txt"),
    localrule: True
    conda:
        ENV
    script:
        "../workflow_scripts/gather_validation.py"


rule validate:
    input:
        dataset_root(),
