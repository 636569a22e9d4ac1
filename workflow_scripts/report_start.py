"""Rule report -> wsss_core.evaluate.headline.write_report_start: the report's start page with the run's headline numbers."""

from wsss_core.evaluate.headline import write_report_start
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule) as log:
    line = write_report_start(snakemake.input.template, snakemake.params.headline_tables, snakemake.output[0])
    log.info("report start page: %s", line)
