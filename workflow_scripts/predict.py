"""Rule predict -> wsss_core.inference.predict.predict_split."""

from wsss_core.inference.predict import predict_split
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    predict_split(
        snakemake.input.dataset,
        snakemake.wildcards.split,
        snakemake.input.checkpoint,
        snakemake.output.predictions,
        snakemake.output.plain,
        snakemake.output.ms,
        scales=snakemake.params.scales,
        flip=snakemake.params.flip,
        max_side=snakemake.params.max_side,
        threads=snakemake.threads,
    )
