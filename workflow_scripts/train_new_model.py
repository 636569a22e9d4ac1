"""Rules train_classifier and train_supervised -> wsss_core.ctlr.training (under torchrun when gpu > 1).

Both train a freshly built network.
"""

from wsss_core.ctlr.training import train_classifier, train_supervised
from wsss_core.engine.distributed import run_training
from wsss_core.logs import log_to

STAGES = {"train_classifier": train_classifier, "train_supervised": train_supervised}

with log_to(snakemake.log[0], snakemake.rule):
    run_training(
        STAGES[snakemake.rule],
        {
            "dataset_root": snakemake.input.dataset,
            "split": snakemake.params.split,
            "output_checkpoint": snakemake.output.checkpoint,
            "log_csv": snakemake.output.history,
            "model_config": snakemake.params.model,
            "train_config": snakemake.params.train,
            "threads": snakemake.threads,
        },
        gpus=snakemake.resources.gpu,
    )
