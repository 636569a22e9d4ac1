"""Rule train_supervised -> wsss_core.train.train_supervised."""

from wsss_core.logs import log_to
from wsss_core.train import train_supervised

with log_to(snakemake.log[0], snakemake.rule):
    train_supervised(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.output.checkpoint,
        snakemake.output.history,
        model_config=snakemake.params.model,
        train_config=snakemake.params.train,
        threads=snakemake.threads,
    )
