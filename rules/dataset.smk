# The generated demo dataset (images, image labels, ground-truth masks for evaluation).


rule make_dataset:
    output:
        directory(run_path("dataset")),
    params:
        generator=config["dataset"].get("generator", {}),
    log:
        run_path("logs/make_dataset.log"),
    benchmark:
        run_path("benchmarks/make_dataset.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/make_dataset.py"
