"""Rule evaluate -> wsss_core.evaluate.tables.evaluate_segmentation (Table 8)."""

from wsss_core.evaluate.tables import evaluate_segmentation
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    evaluate_segmentation(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.params.prediction_dirs,
        snakemake.output[0],
    )
