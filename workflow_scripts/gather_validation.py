"""Rules gather_validation and gather_eval_validation -> wsss_core.data.validation.finish_validation."""

from wsss_core.data.validation import finish_validation
from wsss_core.logs import log_to

with log_to(snakemake.log.log, snakemake.rule):
    finish_validation(
        snakemake.input.dataset,
        snakemake.input.reports,
        snakemake.log.report,
        snakemake.output.index,
        train_split=snakemake.params.train_split,
        eval_split=snakemake.params.eval_split,
        empty_labels=snakemake.params.empty_labels,
        same_classes_as=snakemake.input.get("same_classes_as"),
    )
