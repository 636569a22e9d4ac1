"""Rule postprocess_crf -> wsss_core.inference.postprocess.postprocess_crf (one shard)."""

from wsss_core.crf import CrfParams
from wsss_core.inference.postprocess import postprocess_crf
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    postprocess_crf(
        snakemake.input.dataset,
        snakemake.wildcards.split,
        snakemake.input.predictions,
        snakemake.output.crf,
        snakemake.output.ms_crf,
        crf=CrfParams.from_config(snakemake.params.crf),
        label_epsilon=snakemake.params.label_epsilon,
        workers=snakemake.threads,
        shard=Shard.parse(snakemake.wildcards.shard),
    )
