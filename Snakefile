# wsss-flow: weakly-supervised semantic segmentation from image-level labels.
#
#   images + image labels -> saliency -> classifier -> CAM/sCAM/pCAM -> initial labels
#   -> joint multi-task training -> CTLR refinement -> retraining -> prediction (MS + flip)
#   -> CRF -> metrics
#
# Run: snakemake --cores 8 --resources gpu=1   (see README.md)

import os

from snakemake.utils import min_version, validate

min_version("9.0")


# The defaults always come from this checkout; layer a run's own settings with --configfile.
configfile: os.path.join(workflow.basedir, "config.yaml")


validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    cam="pcam|scam",
    model="joint|retrain|supervised",
    split="[^/]+",


include: "rules/dataset.smk"
include: "rules/saliency.smk"
include: "rules/classifier.smk"
include: "rules/cams.smk"
include: "rules/labels.smk"
include: "rules/joint.smk"
include: "rules/refine.smk"
include: "rules/evaluate.smk"


rule all:
    input:
        run_path("metrics/pseudo_labels.csv"),
        run_path("metrics/class_agnostic_labels.csv"),
        run_path("metrics/segmentation.csv"),
    default_target: True


rule supervised:
    input:
        run_path("metrics/weak_vs_full.csv"),


rule voc_test:
    input:
        run_path("VOC2012/Segmentation/comp6_test_cls"),
