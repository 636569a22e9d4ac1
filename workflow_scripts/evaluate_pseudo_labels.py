"""Rules evaluate_pseudo_labels / evaluate_ca_labels -> wsss_core.evaluate.tables.evaluate_pseudo_labels.

Table 6/7 style scores of semantic pseudo labels, or (with a foreground
threshold) of class-agnostic label maps, one row per named input directory;
with the CAM threshold sweep as input (evaluate_pseudo_labels), the sCAM and
pCAM rows at their own best thresholds follow.
"""

from wsss_core.ctlr.thresholds import best_threshold_rows
from wsss_core.evaluate.tables import evaluate_pseudo_labels
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    sweep = snakemake.input.get("sweep")
    evaluate_pseudo_labels(
        snakemake.input.dataset,
        snakemake.params.split,
        {row_name: snakemake.input[key] for key, row_name in snakemake.params.names.items()},
        snakemake.output[0],
        fg_threshold=snakemake.params.fg_threshold,
        thresholds=snakemake.params.get("thresholds"),
        extra_rows=best_threshold_rows(sweep) if sweep else None,
    )
