"""Rule make_dataset -> wsss_core.data.synthetic.generate_dataset."""

from wsss_core.data.synthetic import generate_dataset
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    generate_dataset(snakemake.output[0], **snakemake.params.generator)
