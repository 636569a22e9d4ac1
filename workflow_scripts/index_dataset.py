"""Rule index_dataset (the training dataset or eval_dataset) -> wsss_core.data.indexing.index_dataset."""

from wsss_core.data.indexing import index_dataset
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    index_dataset(
        snakemake.params.kind,
        snakemake.input.data_root,
        snakemake.output[0],
        splits=snakemake.params.splits,
        holdout=snakemake.params.holdout,
        mask_cache=snakemake.params.mask_cache,
        class_map=snakemake.params.class_map,
        class_descriptions=snakemake.params.class_descriptions,
        record_problems=True,  # validate_inputs lists them with its own
    )
