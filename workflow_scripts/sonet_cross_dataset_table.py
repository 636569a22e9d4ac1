"""Rule sonet_cross_dataset_table -> wsss_core.evaluate.cross_dataset.cross_dataset_table (Table 1c)."""

from wsss_core.evaluate.cross_dataset import cross_dataset_table
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    cross_dataset_table(list(snakemake.input), snakemake.params.rows, snakemake.output[0])
