# wsss-flow: weakly-supervised semantic segmentation from image-level labels.
#
#   images + image labels -> saliency -> classifier -> CAM/sCAM/pCAM -> initial labels
#   -> joint multi-task training -> CTLR refinement -> retraining -> prediction (MS + flip)
#   -> CRF -> metrics
#
# Run: snakemake --cores 8 --resources gpu=1   (see README.md)

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    cam="pcam|scam",
    model="|".join(MODELS),
    split=f"{TRAIN_SPLIT}|{EVAL_SPLIT}",


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
