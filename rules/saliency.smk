# The off-the-shelf saliency map Pt_sal of every training image: computed, or precomputed maps imported.
# One job per shard of the training split, then gather_saliency joins the shards.


rule extract_saliency:
    input:
        dataset=dataset_root(),
        source=lambda wildcards: saliency_source(),  # when planned: objectness runs have no saliency unless Fig. 3(c) asks
    output:
        saliency=directory(shard_path("saliency/{shard}", shared=True)),
    params:
        split=TRAIN_SPLIT,
        method=saliency_method(),
        options=config["guidance"]["params"],
        onnx={key: value for key, value in config["guidance"]["onnx"].items() if key != "model"},
    threads: config["threads"]["per_image"]
    resources:
        mem_mb=config["mem_mb"]["per_image"],
    log:
        shared_path("logs/extract_saliency/{shard}.log"),
    benchmark:
        shared_path("benchmarks/extract_saliency/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/extract_saliency.py"
