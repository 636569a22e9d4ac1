"""Rules train_classifier and train_supervised -> the wsss_core.train function of the rule's name.

Both train a freshly built network; under torchrun when the rule has gpu > 1.
"""

from wsss_core.distributed import run_training
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    run_training(
        snakemake.rule,
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
