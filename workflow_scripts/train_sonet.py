"""Rules train_sonet, train_sonet_supervised (no label inputs: ground truth) and finetune_sonet (an init checkpoint)
-> wsss_core.sonet.stage.train_sonet (Eq. 5)."""

from wsss_core.engine.distributed import run_training
from wsss_core.logs import log_to
from wsss_core.sonet.stage import train_sonet

with log_to(snakemake.log[0], snakemake.rule):
    run_training(
        train_sonet,
        {
            "dataset_root": snakemake.input.dataset,
            "split": snakemake.params.split,
            "seg_label_dir": snakemake.input.get("seg_labels"),
            "objectness_dir": snakemake.input.get("objectness"),
            "output_checkpoint": snakemake.output.checkpoint,
            "log_csv": snakemake.output.history,
            "model_config": snakemake.params.model,
            "train_config": snakemake.params.train,
            "objectness_threshold": snakemake.params.objectness_threshold,
            "init_checkpoint": snakemake.input.get("init"),
            "threads": snakemake.threads,
        },
        gpus=snakemake.resources.gpu,
    )
