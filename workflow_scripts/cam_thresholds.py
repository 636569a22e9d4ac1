"""Rule cam_thresholds -> wsss_core.ctlr.thresholds.sweep_cam_thresholds."""

from wsss_core.ctlr.thresholds import sweep_cam_thresholds
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    sweep_cam_thresholds(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.cams,
        snakemake.input.guidance,
        snakemake.output[0],
        thresholds=snakemake.params.thresholds,
        fg_threshold=snakemake.params.saliency_fg_threshold,
        workers=snakemake.threads,
    )
