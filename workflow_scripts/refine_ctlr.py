"""Rule refine_ctlr -> wsss_core.ctlr.refine.refine_ctlr (one shard)."""

from wsss_core.crf import CrfParams
from wsss_core.ctlr.refine import refine_ctlr
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    refine_ctlr(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.predictions,
        snakemake.input.cams,
        snakemake.output.ca_labels,
        snakemake.output.seg_labels,
        crf=CrfParams.from_config(snakemake.params.crf),
        pcam_fg_threshold=snakemake.params.pcam_fg_threshold,
        prediction_variant=snakemake.params.prediction_variant,
        workers=snakemake.threads,
        shard=Shard.parse(snakemake.wildcards.shard),
    )
