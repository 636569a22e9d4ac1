"""Rule erode_initial_labels -> eroded_labels.erode_directory."""

from eroded_labels import erode_directory

from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule) as log:
    count = erode_directory(snakemake.input.labels, snakemake.output[0], snakemake.params.radius)
    log.info("eroded %d label maps by %d pixels", count, snakemake.params.radius)
