"""Rule figure_training_curves -> wsss_core.evaluate.charts.training_curves."""

from wsss_core.evaluate.charts import training_curves
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    training_curves(dict(snakemake.input.items()), snakemake.output[0])
