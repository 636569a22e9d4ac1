"""Rule sonet_labels -> wsss_core.sonet.labels.make_sonet_labels (Eq. 2-3)."""

from wsss_core.logs import log_to
from wsss_core.sonet.labels import make_sonet_labels

with log_to(snakemake.log[0], snakemake.rule):
    make_sonet_labels(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.output[0],
        kind=snakemake.wildcards.kind,
        cam_store=snakemake.input.get("cams"),
        objectness_dir=snakemake.input.get("objectness"),
        delta=snakemake.params.delta,
        cam_threshold=snakemake.params.cam_threshold,
        objectness_threshold=snakemake.params.objectness_threshold,
        alpha=snakemake.params.alpha,
        inner_fraction=snakemake.params.inner_fraction,
        sdi_inner_fraction=snakemake.params.sdi_inner_fraction,
        workers=snakemake.threads,
    )
