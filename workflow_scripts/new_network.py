"""Rule new_network -> wsss_core.ctlr.training.save_new_network (the start of train_joint with joint.init: backbone)."""

from wsss_core.ctlr.training import save_new_network
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    save_new_network(
        snakemake.input.dataset,
        snakemake.output.checkpoint,
        model_config=snakemake.params.model,
        train_config=snakemake.params.train,
    )
