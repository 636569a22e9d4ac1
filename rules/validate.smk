# validate_inputs: the whole dataset checked in one pass before any other stage runs (every
# stage reads the validated index). One job per shard of the images, then gather_validation
# lists every problem in results/<run>/validation.txt and fails once, or writes the index.


rule validate_inputs:
    input:
        dataset=dataset_source(),
        guidance=precomputed_guidance(),
    output:
        report=shard_path("validation/{shard}.json", shared=True),
    params:
        train_split=TRAIN_SPLIT,
        eval_split=None if EVAL_DATASET else EVAL_SPLIT,  # with eval_dataset no split of this one is evaluated
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        shared_path("logs/validate_inputs/{shard}.log"),
    benchmark:
        shared_path("benchmarks/validate_inputs/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/validate_inputs.py"


rule gather_validation:
    input:
        dataset=dataset_source(),
        reports=shard_parts("validation/{shard}.json", shared=True),
    output:
        index=directory(dataset_root()),
    params:
        train_split=TRAIN_SPLIT,
        eval_split=None if EVAL_DATASET else EVAL_SPLIT,
        empty_labels=config["dataset"]["empty_labels"],
    log:
        # a log, so that Snakemake keeps the list of problems when the rule fails
        log=shared_path("logs/gather/validation.log"),
        report=shared_path("validation.txt"),
    localrule: True
    conda:
        ENV
    script:
        "../workflow_scripts/gather_validation.py"


# eval_dataset (SONet Table 1c): its index checked the same way, and its classes against the training dataset's.
if EVAL_DATASET:

    use rule validate_inputs as validate_eval_inputs with:
        input:
            dataset=dataset_source("eval_dataset"),
            guidance=[],  # no guidance map is read on the evaluation dataset
        output:
            report=shard_path("eval_validation/{shard}.json", shared=True),
        params:
            train_split=config["eval_dataset"]["train_split"],
            eval_split=EVAL_SPLIT,
        log:
            shared_path("logs/validate_eval_inputs/{shard}.log"),
        benchmark:
            shared_path("benchmarks/validate_eval_inputs/{shard}.tsv")

    use rule gather_validation as gather_eval_validation with:
        input:
            dataset=dataset_source("eval_dataset"),
            reports=shard_parts("eval_validation/{shard}.json", "eval_dataset", shared=True),
            same_classes_as=dataset_root(),
        output:
            index=directory(shared_path("eval_validated_index")),
        params:
            train_split=config["eval_dataset"]["train_split"],
            eval_split=EVAL_SPLIT,
            empty_labels=config["eval_dataset"]["empty_labels"],
        log:
            log=shared_path("logs/gather/eval_validation.log"),
            report=shared_path("eval_validation.txt"),


rule validate:
    input:
        dataset_root(),
        eval_root(),
