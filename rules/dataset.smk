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
            splits=lambda wildcards: index_splits(wildcards.index),
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


# The VOC test split (target voc_test) in an index of its own, from its id list: only voc_test needs it.
if VOC_TEST_LIST is not None:

    use rule index_dataset as index_test_split with:
        input:
            data_root=dataset_tree(EVALUATED_DATASET),
            id_list=os.path.normpath(os.path.join(dataset_tree(EVALUATED_DATASET), VOC_TEST_LIST)),
        output:
            directory(shared_path("test_index")),
        params:
            kind="voc",
            splits={VOC_TEST: VOC_TEST_LIST},
            holdout=None,
            mask_cache=None,
            class_map=None,
            class_descriptions=None,
        log:
            shared_path("logs/index_test_split.log"),
        benchmark:
            shared_path("benchmarks/index_test_split.tsv")
