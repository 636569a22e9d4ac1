"""Rule ctlr_change -> wsss_core.ctlr.guard.ctlr_change."""

from wsss_core.ctlr.guard import ctlr_change
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    ctlr_change(
        snakemake.input.dataset,
        snakemake.params.split,
        {key: snakemake.input[key] for key in ("initial", "refined", "guidance", "online_ca", "refined_ca")},
        snakemake.output[0],
        fg_threshold=snakemake.params.saliency_fg_threshold,
        fg_ratio_bounds=tuple(snakemake.params.fg_ratio_bounds),
        workers=snakemake.threads,
    )
