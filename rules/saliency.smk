# The off-the-shelf saliency map Pt_sal of every training image: computed, or precomputed maps imported.
# One job per shard of the training split, then gather_saliency joins the shards.


rule extract_saliency:
    input:
        dataset=dataset_root(),
        source=saliency_source(),
    output:
        saliency=directory(shard_path("saliency/{shard}")),
    params:
        split=TRAIN_SPLIT,
        method=config["guidance"]["method"],
        options=config["guidance"].get("params", {}),
        onnx={key: value for key, value in config["guidance"].get("onnx", {}).items() if key != "model"},
    threads: config["threads"]["per_image"]
    log:
        run_path("logs/extract_saliency/{shard}.log"),
    benchmark:
        run_path("benchmarks/extract_saliency/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/extract_saliency.py"


# Joins the shards of a per-image stage (hard links for PNG directories, group copies for HDF5 stores).
rule gather_saliency:
    input:
        saliency=shard_parts("saliency/{shard}"),
    output:
        saliency=directory(run_path("saliency")),
    log:
        run_path("logs/gather/saliency.log"),
    conda:
        ENV
    script:
        "../workflow_scripts/gather_shards.py"
