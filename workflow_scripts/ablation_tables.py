"""Rule ablation_tables -> wsss_core.evaluate.ablations (CTLR Tables 5-8, SONet Table 1 and Fig. 3c)."""

from wsss_core.evaluate.ablations import ablation_tables, write_ablations
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    tables = ablation_tables(dict(snakemake.input.items()))
    write_ablations(tables, snakemake.output.tables, snakemake.output.markdown, snakemake.params.run)
