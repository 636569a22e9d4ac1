# Helpers shared by the rules: output paths, the dataset root, per-stage settings.

import os

# The workflow scripts import wsss_core from this checkout, also inside conda envs
# and on cluster nodes (the Snakefile is parsed again there).
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])
)

ENV = "../envs/wsss.yaml"
RUN_DIR = f"results/{config['run']}"
TRAIN_SPLIT = config["dataset"]["train_split"]
EVAL_SPLIT = config["dataset"]["eval_split"]
WEAK_MODELS = ("joint", "retrain")
VARIANTS = ("plain", "ms", "crf", "ms_crf")  # post-processing of predictions (Table 8)


def run_path(relative):
    """Path of an output of this run: results/<run>/<relative>."""
    return f"{RUN_DIR}/{relative}"


def data_path(relative):
    """``relative`` under the configured data_root (absolute paths stay as they are)."""
    if not config.get("data_root"):
        raise ValueError(f"config: dataset.kind {config['dataset']['kind']!r} needs data_root")
    return os.path.join(config["data_root"], relative)


def dataset_root():
    """The dataset index every stage reads: built by a rule, or the configured folder."""
    if config["dataset"]["kind"] == "folder":
        return data_path(".")
    return run_path("dataset")


def saliency_source():
    """The precomputed maps the saliency rule imports, or nothing for computed ones."""
    if config["saliency"]["method"] == "precomputed":
        if not config["saliency"].get("dir"):
            raise ValueError("config: saliency.method 'precomputed' needs saliency.dir")
        return data_path(config["saliency"]["dir"])
    return []


def train_settings(stage):
    """The shared training section overlaid with the stage's own overrides."""
    return {**config["train"], **config[stage]["train"]}


def prediction_dirs(models):
    """{model: {post-processing: directory of its label maps on the eval split}}."""
    return {
        model: {variant: run_path(f"segmentation/{model}_{EVAL_SPLIT}/{variant}") for variant in VARIANTS}
        for model in models
    }
