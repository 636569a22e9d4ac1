# The off-the-shelf saliency map Pt_sal of every training image: computed, or precomputed maps imported.


rule extract_saliency:
    input:
        dataset=dataset_root(),
        source=saliency_source(),
    output:
        directory(run_path("saliency")),
    params:
        split=TRAIN_SPLIT,
        method=config["guidance"]["method"],
        options=config["guidance"].get("params", {}),
        onnx={key: value for key, value in config["guidance"].get("onnx", {}).items() if key != "model"},
    log:
        run_path("logs/extract_saliency.log"),
    benchmark:
        run_path("benchmarks/extract_saliency.tsv")
    conda:
        ENV
    script:
        "../workflow_scripts/extract_saliency.py"
