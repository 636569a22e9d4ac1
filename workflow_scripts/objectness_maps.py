"""Rule objectness_maps -> wsss_core.sonet.objectness.objectness_maps."""

from wsss_core.logs import log_to
from wsss_core.sonet.objectness import objectness_maps

with log_to(snakemake.log[0], snakemake.rule):
    objectness_maps(
        snakemake.input.checkpoint,
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.output[0],
        max_side=snakemake.params.max_side,
        batch_size=snakemake.params.batch_size,
        threads=snakemake.threads,
    )
