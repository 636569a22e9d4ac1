"""Rules train_joint, retrain and train_ablation -> wsss_core.ctlr.joint.train_joint (under torchrun when gpu > 1)."""

from wsss_core.crf import CrfParams
from wsss_core.ctlr.joint import train_joint
from wsss_core.engine.distributed import run_training
from wsss_core.logs import log_to
from wsss_core.models.multitask import BRANCHES

with log_to(snakemake.log[0], snakemake.rule):
    run_training(
        train_joint,
        {
            "dataset_root": snakemake.input.dataset,
            "split": snakemake.params.split,
            "init_checkpoint": snakemake.input.init,
            "seg_label_dir": snakemake.input.seg_labels,
            "ca_prior_dir": snakemake.input.ca_prior,
            "output_checkpoint": snakemake.output.checkpoint,
            "output_ca_label_dir": snakemake.output.ca_labels,
            "log_csv": snakemake.output.history,
            "train_config": snakemake.params.train,
            "crf": CrfParams.from_config(snakemake.params.crf),
            "ca_prior_threshold": snakemake.params.ca_prior_threshold,
            "ca_refresh_every": snakemake.params.ca_refresh_every,
            "ca_refresh_overlap": snakemake.params.ca_refresh_overlap,
            "ca_refresh_crf": snakemake.params.ca_refresh_crf,
            "ca_refresh_scales": snakemake.params.ca_refresh_prediction["scales"],
            "ca_refresh_flip": snakemake.params.ca_refresh_prediction["flip"],
            "soft_ca_labels": snakemake.params.ca_labels == "soft",
            "max_side": snakemake.params.max_side,
            "batch_size": snakemake.params.batch_size,
            "threads": snakemake.threads,
            "workers": snakemake.threads,
            "branches": snakemake.params.get("branches", BRANCHES),  # subsets: the Table 5 variants
            "loss_weights": snakemake.params.loss_weights,
        },
        gpus=snakemake.resources.gpu,
    )
