"""Rule report_table -> wsss_core.evaluate.report_tables.table_page."""

from wsss_core.evaluate.report_tables import table_page
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    table_page(snakemake.input[0], snakemake.output[0], snakemake.params.title)
