"""Rule validate_inputs -> wsss_core.data.validation.check_shard (one shard)."""

from wsss_core.data.validation import check_shard
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    check_shard(
        snakemake.input.dataset,
        snakemake.output.report,
        train_split=snakemake.params.train_split,
        eval_split=snakemake.params.eval_split,
        guidance_dir=snakemake.input.guidance or None,
        shard=Shard.parse(snakemake.wildcards.shard),
        workers=snakemake.threads,
    )
