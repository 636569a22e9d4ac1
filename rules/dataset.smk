# The dataset index every stage reads: the generated demo dataset, or an index of a real dataset;
# and the index of eval_dataset, when the models are evaluated on another dataset (SONet Table 1c).
# (kind: folder needs no rule: the folder is its own index.)

if config["dataset"]["kind"] == "generated":

    rule make_dataset:
        output:
            directory(shared_path("dataset")),
        params:
            generator=config["dataset"]["generator"],
        log:
            shared_path("logs/make_dataset.log"),
        benchmark:
            shared_path("benchmarks/make_dataset.tsv")
        conda:
            ENV
        script:
            "../workflow_scripts/make_dataset.py"


# the datasets (dataset, eval_dataset) whose index rule index_dataset builds as results/<run>/<name>
INDEXED_DATASETS = [name for name in ("dataset", "eval_dataset") if config[name]["kind"] in ("voc", "coco", "cityscapes", "openimages")]

if INDEXED_DATASETS:

    rule index_dataset:
        input:
            data_root=lambda wildcards: dataset_tree(wildcards.index),
        output:
            directory(shared_path("{index}")),
        wildcard_constraints:
            index="|".join(INDEXED_DATASETS),
        params:
            kind=lambda wildcards: config[wildcards.index]["kind"],
            splits=lambda wildcards: config[wildcards.index]["splits"],
            holdout=lambda wildcards: config[wildcards.index]["holdout"],
            mask_cache=lambda wildcards: config[wildcards.index]["mask_cache"],
            # openimages (a training dataset only): the class map and the class-description file
            class_map=config["dataset"]["class_map"],
            class_descriptions=config["dataset"]["class_descriptions"],
        resources:
            mem_mb=config["mem_mb"]["per_image"],
        log:
            shared_path("logs/index_{index}.log"),
        benchmark:
            shared_path("benchmarks/index_{index}.tsv")
        conda:
            ENV
        script:
            "../workflow_scripts/index_dataset.py"
