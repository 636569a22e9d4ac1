"""Rules train_joint and retrain -> wsss_core.train.train_multitask."""

from wsss_core.crf import CrfParams
from wsss_core.logs import log_to
from wsss_core.train import train_multitask

with log_to(snakemake.log[0], snakemake.rule):
    train_multitask(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.init,
        snakemake.input.seg_labels,
        snakemake.input.ca_prior,
        snakemake.output.checkpoint,
        snakemake.output.ca_labels,
        snakemake.output.history,
        train_config=snakemake.params.train,
        crf=CrfParams.from_config(snakemake.params.crf),
        ca_prior_threshold=snakemake.params.ca_prior_threshold,
        ca_refresh_every=snakemake.params.ca_refresh_every,
        max_side=snakemake.params.max_side,
        threads=snakemake.threads,
        workers=snakemake.threads,
    )
