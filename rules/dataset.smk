# The dataset index every stage reads: the generated demo dataset, or an index of a real dataset.
# (kind: folder needs no rule: the folder is its own index.)

if config["dataset"]["kind"] == "generated":

    rule make_dataset:
        output:
            directory(run_path("dataset")),
        params:
            generator=config["dataset"]["generator"],
        log:
            run_path("logs/make_dataset.log"),
        benchmark:
            run_path("benchmarks/make_dataset.tsv")
        conda:
            ENV
        script:
            "../workflow_scripts/make_dataset.py"


elif config["dataset"]["kind"] in ("voc", "coco", "cityscapes"):

    rule index_dataset:
        input:
            data_root=data_path("."),
        output:
            directory(run_path("dataset")),
        params:
            kind=config["dataset"]["kind"],
            splits=config["dataset"]["splits"],
            holdout=config["dataset"]["holdout"],
            mask_cache=config["dataset"]["mask_cache"],
        log:
            run_path("logs/index_dataset.log"),
        benchmark:
            run_path("benchmarks/index_dataset.tsv")
        conda:
            ENV
        script:
            "../workflow_scripts/index_dataset.py"
