"""Rule figure_worst_images -> wsss_core.evaluate.worst.worst_images."""

from wsss_core.evaluate.grids import Panel
from wsss_core.evaluate.worst import worst_images
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    worst_images(
        snakemake.input.dataset,
        snakemake.params.split,
        [Panel(*panel) for panel in snakemake.params.panels],
        snakemake.output.ranking,
        snakemake.output.disagreement,
        snakemake.output.get("lowest_iou"),
        count=snakemake.params.images,
        cams_path=snakemake.input.get("cams"),
    )
