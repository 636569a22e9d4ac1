# CAM (Eq. 1), sCAM (Eq. 2) and pCAM (Eq. 3) of every training image, in one HDF5 store
# (one store per shard, joined by gather_cams).


rule dump_cams:
    input:
        dataset=dataset_root(),
        checkpoint=run_path("checkpoints/classifier.pt"),
    output:
        cams=shard_path("cams/{shard}.h5"),
    params:
        split=TRAIN_SPLIT,
        max_side=config["inference"]["max_side"],
        batch_size=config["inference"]["batch_size"],
    threads: config["threads"]["train"]
    resources:
        gpu=1,
        mem_mb=config["mem_mb"]["inference"],
    log:
        run_path("logs/dump_cams/{shard}.log"),
    benchmark:
        run_path("benchmarks/dump_cams/{shard}.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/dump_cams.py"
