"""Rule ablation_tables -> wsss_core.evaluate.ablations (CTLR Tables 5-8, SONet Table 1 and Fig. 3c)."""

from wsss_core.evaluate.ablations import ctlr_tables, sonet_tables, write_ablations
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    paths = dict(snakemake.input.items())
    tables = {**ctlr_tables(paths), **sonet_tables(paths)}
    write_ablations(tables, snakemake.output.tables, snakemake.output.markdown, snakemake.params.run)
