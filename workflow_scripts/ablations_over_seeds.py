"""Rule ablations_over_seeds -> wsss_core.evaluate.ablations.ablations_over_seeds."""

from wsss_core.evaluate.ablations import ablations_over_seeds
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    ablations_over_seeds(
        dict(zip(snakemake.params.seeds, snakemake.input.tables)),
        snakemake.output.tables,
        snakemake.output.markdown,
        snakemake.params.run,
        confidence=snakemake.params.confidence,
    )
