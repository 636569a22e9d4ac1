"""Rule sonet_paper_table -> wsss_core.evaluate.sonet_tables.write_paper_table (SONet's Tables 1a, 1b, 2, 5a, 5b, Fig. 3c)."""

from wsss_core.evaluate.sonet_tables import write_paper_table
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    write_paper_table(snakemake.wildcards.table, snakemake.input[0], snakemake.output[0])
