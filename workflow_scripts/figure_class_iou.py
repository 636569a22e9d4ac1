"""Rule figure_class_iou -> wsss_core.evaluate.charts.class_iou_chart."""

from wsss_core.evaluate.charts import class_iou_chart
from wsss_core.logs import log_to

with log_to(snakemake.log[0], snakemake.rule):
    class_iou_chart(list(snakemake.input), snakemake.output[0], postprocessing=snakemake.params.postprocessing)
