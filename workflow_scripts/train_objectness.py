"""Rule train_objectness -> wsss_core.sonet.objectness.train_objectness (under torchrun when gpu > 1)."""

from wsss_core.engine.distributed import run_training
from wsss_core.logs import log_to
from wsss_core.sonet.objectness import train_objectness

with log_to(snakemake.log[0], snakemake.rule):
    run_training(
        train_objectness,
        {
            "source_kind": snakemake.params.source_kind,
            "source_root": snakemake.params.source_root,
            "output_checkpoint": snakemake.output.checkpoint,
            "log_csv": snakemake.output.history,
            "arch": snakemake.params.arch,
            "train_config": snakemake.params.train,
            "non_overlapping_with": (
                snakemake.input.dataset if snakemake.wildcards.setting == "non_overlapping" else None
            ),
            "class_map": snakemake.params.class_map,
            "source_split": snakemake.params.source_split,
            "backbone_weights": snakemake.params.backbone_weights,
            "threads": snakemake.threads,
        },
        gpus=snakemake.resources.gpu,
    )
