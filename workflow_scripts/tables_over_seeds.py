"""Rule tables_over_seeds -> wsss_core.evaluate.seeds.tables_over_seeds."""

from wsss_core.evaluate.seeds import tables_over_seeds
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    tables_over_seeds(dict(zip(snakemake.params.seeds, snakemake.input)), snakemake.output[0])
