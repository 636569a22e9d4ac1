"""Rule extract_saliency -> wsss_core.guidance.extract.extract_saliency (one shard)."""

from wsss_core.guidance.extract import extract_saliency
from wsss_core.logs import log_to
from wsss_core.sharding import Shard

with log_to(snakemake.log[0], snakemake.rule):
    extract_saliency(
        snakemake.input.dataset,
        snakemake.params.split,
        snakemake.output.saliency,
        method=snakemake.params.method,
        source=snakemake.input.source or None,
        onnx_options=snakemake.params.onnx,
        shard=Shard.parse(snakemake.wildcards.shard),
        workers=snakemake.threads,
        **snakemake.params.options,
    )
