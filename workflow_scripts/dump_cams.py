"""Rule dump_cams -> wsss_core.ctlr.cams.dump_cams (one shard)."""

from wsss_core.ctlr.cams import dump_cams
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    dump_cams(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.checkpoint,
        snakemake.output.cams,
        max_side=snakemake.params.max_side,
        batch_size=snakemake.params.batch_size,
        threads=snakemake.threads,
        shard=Shard.parse(snakemake.wildcards.shard),
    )
