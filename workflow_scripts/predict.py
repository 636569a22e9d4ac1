"""Rules predict and predict_train -> wsss_core.inference.predict.predict_split."""

from wsss_core.inference.predict import predict_split
from wsss_core.logs import log_to

outputs = dict(snakemake.output.items())
with log_to(snakemake.log[0], snakemake.rule):
    predict_split(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.input.checkpoint,
        outputs["predictions"],
        arrays=snakemake.params.arrays,
        label_dirs={variant: outputs[name] for variant, name in (("single", "plain"), ("ms", "ms")) if name in outputs},
        scales=snakemake.params.scales,
        flip=snakemake.params.flip,
        max_side=snakemake.params.max_side,
        batch_size=snakemake.params.batch_size,
        channel_epsilon=snakemake.params.channel_epsilon,
        label_channels=snakemake.params.label_channels,
        threads=snakemake.threads,
    )
