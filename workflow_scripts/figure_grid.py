"""Rules figure_training_images, figure_evaluation_images -> wsss_core.evaluate.grids.sample_grid."""

from wsss_core.evaluate.grids import Panel, sample_grid
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule) as log:
    ids = sample_grid(
        snakemake.input.dataset,
        snakemake.params.split,
        [Panel(*panel) for panel in snakemake.params.panels],
        snakemake.output[0],
        count=snakemake.params.images,
        seed=snakemake.params.seed,
        cams_path=snakemake.input.get("cams"),
        title=snakemake.params.title,
    )
    log.info("drew %d images: %s", len(ids), " ".join(ids))
