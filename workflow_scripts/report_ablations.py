"""Rule report_ablations -> wsss_core.evaluate.ablations.ablation_page."""

from wsss_core.evaluate.ablations import ablation_page
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    ablation_page(snakemake.input[0], snakemake.output[0], snakemake.params.title, confidence=snakemake.params.confidence)
