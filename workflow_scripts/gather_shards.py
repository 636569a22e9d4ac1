"""Rules gather_* -> wsss_core.sharding.gather, once per named output."""

from wsss_core.logs import log_to
from wsss_core.sharding import gather

with log_to(snakemake.log[0], snakemake.rule):
    for name in snakemake.output.keys():
        gather(snakemake.input[name], snakemake.output[name])
