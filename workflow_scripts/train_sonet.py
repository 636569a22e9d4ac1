"""Rule train_sonet -> wsss_core.train.train_sonet (Eq. 5)."""

from wsss_core.logs import log_to
from wsss_core.train import train_sonet

with log_to(snakemake.log[0], snakemake.rule):
    train_sonet(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.seg_labels,
        snakemake.input.objectness,
        snakemake.output.checkpoint,
        snakemake.output.history,
        model_config=snakemake.params.model,
        train_config=snakemake.params.train,
        objectness_threshold=snakemake.params.objectness_threshold,
        threads=snakemake.threads,
    )
