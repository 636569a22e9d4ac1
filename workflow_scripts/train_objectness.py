"""Rule train_objectness -> wsss_core.objectness.train_objectness."""

from wsss_core.logs import log_to
from wsss_core.objectness import train_objectness

with log_to(snakemake.log[0], snakemake.rule):
    train_objectness(
        snakemake.params.source_kind,
        snakemake.params.source_root,
        snakemake.output.checkpoint,
        snakemake.output.history,
        arch=snakemake.params.arch,
        train_config=snakemake.params.train,
        non_overlapping_with=snakemake.input.dataset if snakemake.wildcards.setting == "non_overlapping" else None,
        class_map=snakemake.params.class_map,
        source_split=snakemake.params.source_split,
        backbone_weights=snakemake.params.backbone_weights,
        threads=snakemake.threads,
    )
