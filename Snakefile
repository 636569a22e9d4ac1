# wsss-flow: weakly-supervised semantic segmentation from image-level labels.
#
#   images + image labels -> saliency -> classifier -> CAM/sCAM/pCAM -> initial labels
#   -> joint multi-task training -> CTLR refinement -> retraining -> prediction (MS + flip)
#   -> CRF -> metrics
#
# Run: snakemake --cores 8 --resources gpu=1   (the manual: docs/)

import os

from snakemake.utils import min_version, validate

min_version("9.0")


# This checkout, also where the workflow is used as a module from another directory.
WSSS_DIR = workflow.current_basedir.get_path_or_uri(secret_free=True)


# The defaults always come from this checkout; layer a run's own settings with --configfile.
# Used as a module with `config:`, the module's config replaces this file and the schema's
# defaults (the same values) fill what it leaves out.
configfile: os.path.join(WSSS_DIR, "config.yaml")


# The layers the configuration is made of (config.yaml, each --configfile, the --config items;
# used as a module: config.yaml and the module's config), taken before the schema fills in defaults.
import copy

import yaml

from wsss_core.config_keys import config_problems
from wsss_core.config_layers import DEFAULTS, Layer, config_layers, read_yaml, resolve_stages, run_stages, shadowed_settings

_DEFAULTS_FILE = os.path.join(WSSS_DIR, "config.yaml")
if workflow.modifier.skip_configfile:
    CONFIG_LAYERS = [Layer(DEFAULTS, read_yaml(_DEFAULTS_FILE)), Layer("module config", copy.deepcopy(config))]
else:
    CONFIG_LAYERS = config_layers(_DEFAULTS_FILE, workflow.config_settings.configfiles, dict(workflow.config_settings.config))

# Unknown keys first (each named with the nearest known one), then the schema check, which
# also fills in the schema's defaults (those of config.yaml) for what is left out.
with open(os.path.join(WSSS_DIR, "schemas", "config.schema.yaml")) as _schema:
    CONFIG_PROBLEMS = config_problems(config, yaml.safe_load(_schema))
if CONFIG_PROBLEMS:
    raise ValueError("invalid configuration:\n" + "\n".join(CONFIG_PROBLEMS))
validate(config, "schemas/config.schema.yaml", set_default=True)

# Each training stage's section becomes its complete effective settings: config.yaml's, then your
# layers' shared train:, then your layers' own section of the stage (wsss_core.config_layers).
resolve_stages(config, CONFIG_LAYERS)

# The device of every GPU rule and whether CUDA runs deterministic algorithms, in the environment
# its script inherits (wsss_core.engine.device reads them): not params, so changing them re-runs nothing.
os.environ.update(WSSS_DEVICE=config["device"], WSSS_DETERMINISTIC="1" if config["deterministic"] else "0")

# Pre-flight: every file and tree the config names outside results/ (dataset trees, guidance,
# objectness source, weights files that must fit their backbones), all problems in one message
# before any job, also when the results are complete. Jobs on cluster nodes skip it.
if workflow.is_main_process:
    from snakemake.exceptions import WorkflowError
    from snakemake.logging import logger

    from wsss_core.preflight import class_map_warnings, preflight, preflight_report

    for _warning in class_map_warnings(config) + shadowed_settings(CONFIG_LAYERS, run_stages(config)):
        logger.warning(f"pre-flight warning: {_warning}")
    PREFLIGHT_PROBLEMS = preflight(config)
    if PREFLIGHT_PROBLEMS:
        raise WorkflowError(preflight_report(PREFLIGHT_PROBLEMS))


include: "rules/common.smk"
include: "rules/report_common.smk"


wildcard_constraints:
    cam="pcam|scam",
    model="joint|retrain|supervised|(sonet(_finetuned)?|deeplabv3)-[a-z_]+-[a-z_]+|ablation-[a-z_]+",
    variant="|".join(ABLATION_VARIANTS),
    split="[^/]+",
    setting="none|overlapping|non_overlapping|saliency",
    kind="|".join(SONET_KINDS),
    supervision="image|box",
    transfer="o_to_v|o_plus_v",
    shard=r"\d+-of-\d+",
    seed=r"\d+",


# Run by the main Snakemake process, never submitted to a cluster: the target rules, which
# only collect files (the gather steps of rules/gather.smk are local too).
localrules:
    ablations,
    all,
    report,
    demo_sonet,
    o_to_v,
    o_plus_v,
    supervised,
    sonet_supervised,
    sonet_table1,
    sonet_table2,
    sonet_table3,
    sonet_table5,
    sonet_fig3c,
    validate,
    voc_test,


include: "rules/dataset.smk"
include: "rules/validate.smk"
include: "rules/saliency.smk"
include: "rules/classifier.smk"
include: "rules/cams.smk"
include: "rules/labels.smk"
include: "rules/joint.smk"
include: "rules/refine.smk"
include: "rules/evaluate.smk"
include: "rules/objectness.smk"
include: "rules/sonet.smk"
include: "rules/sonet_tables.smk"
include: "rules/gather.smk"


if EVAL_DATASET:  # SONet across datasets (Table 1c): evaluation on eval_dataset, fine-tuning on it

    include: "rules/cross_dataset.smk"


include: "rules/report.smk"
include: "rules/ablations.smk"
include: "rules/seeds.smk"


report: os.path.abspath(REPORT_START) if os.path.exists(REPORT_START) else "report/workflow.rst"


# The targets' tables: the run's, or with seeds the tables over seeds (rules/seeds.smk), both in results/<run>/metrics/.
CTLR_TABLES = [
    shared_path("metrics/pseudo_labels.csv"),
    shared_path("metrics/class_agnostic_labels.csv"),
    shared_path("metrics/segmentation.csv"),
    shared_path("metrics/ctlr_change.csv"),
]
SONET_TABLES = [shared_path("metrics/sonet_pseudo_labels.csv")]


rule all:
    input:
        CTLR_TABLES
        if config["method"] == "ctlr"
        # SONet across datasets: Table 1(c); the training dataset may have no masks to score its labels
        else [shared_path("metrics/sonet_cross_dataset.csv")]
        if EVAL_DATASET
        else SONET_TABLES + [shared_path(f"metrics/sonet_segmentation_{config['supervision']}.csv")],
    default_target: True


rule demo_sonet:
    input:
        SONET_TABLES,
        shared_path("metrics/sonet_segmentation_image.csv"),
        shared_path("metrics/sonet_segmentation_box.csv"),


rule supervised:
    input:
        shared_path("metrics/weak_vs_full.csv"),


rule sonet_supervised:
    input:
        shared_path("metrics/sonet_weak_vs_full.csv"),


# SONet across datasets (Table 1c; needs eval_dataset): trained on the training dataset and
# evaluated on eval_dataset (O -> V), and the table with the fine-tuned SONets (O + V).
rule o_to_v:
    input:
        lambda wildcards: cross_dataset_target("metrics/sonet_segmentation_o_to_v.csv"),


rule o_plus_v:
    input:
        lambda wildcards: cross_dataset_target("metrics/sonet_cross_dataset.csv"),


# the VOC test-server archive of every seed
rule voc_test:
    input:
        seed_paths("VOC2012/Segmentation/comp6_test_cls"),


# device: cuda on a machine (local jobs) where torch sees no GPU stops here, before the first job;
# on a cluster every GPU rule checks its own node when it starts. The run's merged configuration
# is stored as results/<run>/config.yaml: `wsss predict` takes its inference settings from it.
onstart:
    from snakemake.exceptions import WorkflowError

    from wsss_core.engine.device import device_problem
    from wsss_core.inference.run_settings import write_run_config

    if workflow.local_exec and device_problem(config["device"]):
        raise WorkflowError(device_problem(config["device"]))
    write_run_config(config, RUN_DIR)


# The closing line of every successful run: its headline numbers, from the tables that exist.
onsuccess:
    from wsss_core.evaluate.headline import headline

    print(f"wsss-flow {config['run']}: {headline(headline_tables())}")
