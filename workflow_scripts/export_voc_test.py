"""Rule export_voc_test -> wsss_core.evaluate.export.export_voc_segmentation."""

from wsss_core.evaluate.export import export_voc_segmentation
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    export_voc_segmentation(snakemake.input.dataset, snakemake.params.split, snakemake.input.labels, snakemake.output[0])
