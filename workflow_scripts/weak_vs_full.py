"""Rule weak_vs_full -> wsss_core.evaluate.tables.compare_supervision."""

from wsss_core.evaluate.tables import compare_supervision
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    compare_supervision(
        snakemake.input.weak,
        snakemake.input.full,
        snakemake.output[0],
        weak_model=snakemake.params.weak_model,
        full_model=snakemake.params.full_model,
    )
