"""Rule fuse_initial_labels -> wsss_core.ctlr.initial_labels.fuse_label_maps (one shard)."""

from wsss_core.ctlr.initial_labels import fuse_label_maps
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    fuse_label_maps(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.cams,
        snakemake.wildcards.cam,
        snakemake.input.guidance,
        snakemake.output.labels,
        cam_fg_threshold=snakemake.params.cam_fg_threshold,
        fg_threshold=snakemake.params.saliency_fg_threshold,
        workers=snakemake.threads,
        shard=Shard.parse(snakemake.wildcards.shard),
    )
