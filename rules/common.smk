# Helpers shared by the rules: output paths, the dataset root, per-stage settings.

import os

# The workflow scripts import wsss_core from this checkout (WSSS_DIR: the Snakefile's directory,
# also when used as a module), also inside conda envs and on cluster nodes (the Snakefile is
# parsed again there).
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [WSSS_DIR, os.environ.get("PYTHONPATH")]))

# Snakemake puts the workflow directory on sys.path, so the Snakefile imports this checkout's wsss_core too.
from wsss_core.ctlr.refresh import refresh_prediction as ctlr_refresh_prediction
from wsss_core.data.layout import VOC_TEST
from wsss_core.data.split_size import split_size_hint
from wsss_core.evaluate.sonet_tables import SYMBOLS, label_set_name
from wsss_core.sharding import auto_shard_count, shard_names

ENV = "../envs/wsss.yaml"
RUN_DIR = f"results/{config['run']}"
TRAIN_SPLIT = config["dataset"]["train_split"]
# eval_dataset: another dataset every model is evaluated on (SONet Table 1c: trained on Open
# Images, evaluated on VOC12 val); without one, the training dataset's eval_split.
EVAL_DATASET = config["eval_dataset"]["kind"] is not None
EVALUATED_DATASET = "eval_dataset" if EVAL_DATASET else "dataset"
EVAL_SPLIT = config[EVALUATED_DATASET]["eval_split"]
WEAK_MODELS = ("joint", "retrain")
VARIANTS = ("plain", "ms", "crf", "ms_crf")  # post-processing of predictions (Table 8)
# target `ablations`: variants of the joint model, {name: (branches trained, initial labels)}:
# CTLR Table 5 (subsets of the branches on the pCAM labels) and Table 6 (all three on the sCAM labels)
ABLATION_VARIANTS = {
    "ss": (["seg"], "pcam"),
    "ss_cls": (["cls", "seg"], "pcam"),
    "ss_ca": (["ca", "seg"], "pcam"),
    "scam": (["cls", "ca", "seg"], "scam"),
}


# seeds: the stochastic stages (every training stage and all that reads a trained network) run once
# per seed in results/<run>/seed_<s>/, through the wildcard {seed}; the deterministic ones (dataset,
# index, validation, saliency) once, in results/<run>/, where the tables over seeds go too.
SEEDS = [int(seed) for seed in config["seeds"]]  # --config seeds=[0,1,2] gives strings
SEED_DIR = "seed_{seed}/" if SEEDS else ""
CONFIDENCE = 0.95  # of the t-intervals of the ablations' paired differences over seeds


def shared_path(relative):
    """Output shared by every seed (deterministic stages, tables over seeds, the report): results/<run>/<relative>."""
    return f"{RUN_DIR}/{relative}"


def run_path(relative):
    """Output of a stochastic stage: results/<run>/<relative>, or results/<run>/seed_{seed}/<relative> with seeds."""
    return f"{RUN_DIR}/{SEED_DIR}{relative}"


def seed_path(relative, seed):
    """:func:`run_path` of one seed (``seed`` ignored without seeds)."""
    return fill_seed(run_path(relative), seed)


def seed_paths(relative):
    """:func:`run_path` of every seed (the one path without seeds)."""
    return [seed_path(relative, seed) for seed in SEEDS] if SEEDS else [run_path(relative)]


def fill_seed(value, seed):
    """``value`` (str, or lists / dicts of them) with {seed} replaced."""
    if isinstance(value, str):
        return value.replace("{seed}", str(seed))
    if isinstance(value, dict):
        return {key: fill_seed(item, seed) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [fill_seed(item, seed) for item in value]
    return value


def first_seed(value):
    """``value`` (paths, or lists / dicts of them) of the first seed: what the report's image figures show."""
    return fill_seed(value, SEEDS[0] if SEEDS else None)


def first_seed_path(relative):
    """:func:`run_path` of the first seed."""
    return first_seed(run_path(relative))


def seeded(value):
    """A rule parameter holding run_path()s inside dicts or nested lists (which Snakemake does not
    fill with wildcards): with seeds, a function of the job's seed; else ``value``."""
    if not SEEDS:
        return value
    return lambda wildcards: fill_seed(value(wildcards) if callable(value) else value, wildcards.seed)


def data_path(relative):
    """``relative`` under the configured data_root (absolute paths stay as they are)."""
    return os.path.join(config["data_root"], relative)


def dataset_tree(name="dataset"):
    """The tree of the training dataset (``name`` dataset: data_root) or of the evaluation dataset (eval_dataset.data_root)."""
    return data_path(".") if name == "dataset" else os.path.join(config["eval_dataset"]["data_root"], ".")


def dataset_source(name="dataset"):
    """The index of dataset ``name`` (dataset | eval_dataset) as given: built by a rule, or the configured folder (read by validate_inputs)."""
    if config[name]["kind"] == "folder":
        return dataset_tree(name)
    return shared_path(name)


def dataset_root():
    """The dataset index every stage reads: the one validate_inputs checked (rules/validate.smk)."""
    return shared_path("validated_index")


def cross_dataset_target(relative):
    """run_path(relative) for the targets of Table 1(c), which need a second dataset to evaluate on."""
    if not EVAL_DATASET:
        raise ValueError(
            "targets o_to_v / o_plus_v evaluate on a second dataset: set eval_dataset (kind, data_root, splits), "
            "as configs/openimages_to_voc12_sonet.yaml does"
        )
    return shared_path(relative)


def eval_root():
    """The index predictions are made on and scored against: the validated eval_dataset, or the training dataset's."""
    return shared_path("eval_validated_index") if EVAL_DATASET else dataset_root()


# The VOC test split (target voc_test): its images have no public masks and its id list comes with
# the test download (a registration on the evaluation server), so it is indexed on its own, only
# when voc_test asks for it; the runs of every other target neither need nor check its list.
VOC_TEST_LIST = config[EVALUATED_DATASET]["splits"].get(VOC_TEST) if config[EVALUATED_DATASET]["kind"] == "voc" else None


def index_splits(name):
    """The splits index_dataset indexes for dataset ``name``: its ``splits`` without the VOC test split."""
    return {split: entry for split, entry in config[name]["splits"].items() if not (config[name]["kind"] == "voc" and split == VOC_TEST)}


def split_root(split):
    """The index predictions of ``split`` read: the VOC test split's own index, or :func:`eval_root`."""
    return shared_path("test_index") if VOC_TEST_LIST is not None and split == VOC_TEST else eval_root()


def precomputed_guidance():
    """The directory of precomputed guidance maps validate_inputs checks; none for the other methods."""
    return data_path(config["guidance"]["dir"]) if config["guidance"]["method"] == "precomputed" else []


def saliency_method():
    """How extract_saliency makes its maps: guidance.method; with objectness guidance, the saliency maps SONet's
    Fig. 3(c) compares with O, precomputed in sonet.saliency_dir (None: none given)."""
    if config["guidance"]["method"] == "objectness":
        return "precomputed" if config["sonet"]["saliency_dir"] else None
    return config["guidance"]["method"]


def saliency_source():
    """What extract_saliency reads besides the images: precomputed maps or an ONNX model."""
    method = saliency_method()
    if method == "precomputed":
        return data_path(config["sonet"]["saliency_dir"] if config["guidance"]["method"] == "objectness" else config["guidance"]["dir"])
    if method == "onnx":
        return config["guidance"]["onnx"]["model"]
    if method is None:
        raise ValueError(
            "SONet's Fig. 3(c) compares O with saliency maps: give them as sonet.saliency_dir (a directory of <id>.png maps)"
        )
    return []


def guidance_dir():
    """The store of Pt_sal every fusion reads: objectness maps, or the extract_saliency output."""
    if config["guidance"]["method"] == "objectness":
        return run_path(f"objectness/{config['guidance']['objectness_setting']}")
    return shared_path("saliency")


def objectness_source():
    """The source dataset of the objectness network: the generated dataset's source/ split, or a configured tree."""
    if config["objectness"]["source_kind"] == "generated":
        return os.path.join(shared_path("dataset"), "source")
    return config["objectness"]["source_root"]


def objectness_source_available():
    """Whether an objectness network can be trained: the generated dataset brings its source/
    split; any other dataset needs a source tree (objectness.source_kind coco_stuff or folder)."""
    return config["objectness"]["source_kind"] != "generated" or config["dataset"]["kind"] == "generated"


if not objectness_source_available() and (config["method"] == "sonet" or config["guidance"]["method"] == "objectness"):
    raise ValueError(
        f"objectness.source_kind: generated needs dataset.kind: generated (the dataset is {config['dataset']['kind']}); "
        "give the objectness network a source tree (objectness.source_kind coco_stuff or folder, objectness.source_root)"
    )


def objectness_source_input():
    """What train_objectness depends on: the generated dataset (source/ lives inside it) or the tree."""
    return dataset_root() if config["objectness"]["source_kind"] == "generated" else objectness_source()


OBJECTNESS_SETTINGS = ("non_overlapping", "overlapping")
# the SONet pseudo labels of Table 1(a) (C_m, G^Cm, B, G^B, G^B_ign: SYMBOLS) and, for Table 5(b), G^B with SDI's ignore region
TABLE1_KINDS = ("cam", "cam_objectness", "box", "box_objectness", "box_objectness_ignore")
SONET_KINDS = (*TABLE1_KINDS, "box_objectness_sdi")


def dataset_has_boxes(name="dataset"):
    """Whether the index of dataset ``name`` will have object boxes (boxes.csv): the generated dataset,
    Cityscapes and Open Images always, VOC when its tree has the XML annotations, a folder with its
    boxes.csv. Without boxes the box-driven SONet labels (B, G^B, G^B_ign) are not planned."""
    kind = config[name]["kind"]
    if kind == "voc":
        return os.path.isdir(os.path.join(dataset_tree(name), "Annotations"))
    if kind == "folder":
        return os.path.isfile(os.path.join(dataset_tree(name), "boxes.csv"))
    return kind in ("generated", "cityscapes", "openimages")


# the SONet supervisions and pseudo-label kinds this dataset allows
SONET_SUPERVISIONS = ("image", "box") if dataset_has_boxes() else ("image",)
SONET_DATASET_KINDS = tuple(kind for kind in TABLE1_KINDS if "box" in SONET_SUPERVISIONS or not kind.startswith("box"))
if config["method"] == "sonet" and config["supervision"] not in SONET_SUPERVISIONS:
    raise ValueError(
        f"supervision: box needs object boxes, and dataset {config.get('data_root')!r} (kind "
        f"{config['dataset']['kind']}) has none (VOC: Annotations/*.xml; folder: boxes.csv)"
    )


def sonet_label_sets():
    """{input name: (kind, setting)} of every SONet pseudo-label set the dataset allows (objectness kinds in both settings)."""
    return {
        f"{kind}__{setting}": (kind, setting)
        for kind in SONET_DATASET_KINDS
        for setting in (OBJECTNESS_SETTINGS if "objectness" in kind else ("none",))
    }


def sonet_objectness_setting(setting):
    """The objectness maps O a SONet on labels of ``setting`` learns: that objectness network's, else the configured one."""
    return setting if setting in OBJECTNESS_SETTINGS else config["guidance"]["objectness_setting"]


def sonet_models(supervision):
    """Model names of the SONets of one supervision: the paper's labels, plus baselines if configured."""
    kinds = {"image": ["cam_objectness"], "box": ["box_objectness_ignore"]}[supervision]
    if config["sonet"]["baselines"]:
        kinds = {"image": ["cam"], "box": ["box", "box_objectness"]}[supervision] + kinds
    setting = config["guidance"]["objectness_setting"]
    return [f"sonet-{kind}-{setting if 'objectness' in kind else 'none'}" for kind in kinds]


def sonet_label_inputs(wildcards):
    """Inputs of sonet_labels: CAMs or the dataset boxes, and objectness maps when used."""
    inputs = {"dataset": dataset_root()}
    if wildcards.kind.startswith("cam"):
        inputs["cams"] = run_path("cams.h5")
    if "objectness" in wildcards.kind:
        # setting "saliency": the saliency map in place of O (SONet Fig. 3c, target `ablations`)
        inputs["objectness"] = (
            shared_path("saliency") if wildcards.setting == "saliency" else run_path(f"objectness/{wildcards.setting}")
        )
    return inputs


def eval_sonet_label_inputs(wildcards):
    """Inputs of eval_sonet_labels (fine-tuning, Table 1c O + V): eval_dataset's boxes and its objectness maps when used."""
    inputs = {"dataset": eval_root()}
    if "objectness" in wildcards.kind:
        inputs["objectness"] = run_path(f"eval_objectness/{wildcards.setting}")
    return inputs


def train_settings(stage):
    """The stage's effective training settings (its section, completed by the Snakefile's resolve_stages);
    with seeds, a function of the job's seed, which replaces the stage's train.seed."""
    settings = config[stage]["train"]
    if not SEEDS:
        return settings
    return lambda wildcards: {**settings, "seed": int(wildcards.seed)}


def refresh_prediction(stage):
    """How the G_ca refresh of ``stage`` predicts Pr_ca (Eq. 4): single scale, or inference's scales and flip (``ms``)."""
    return ctlr_refresh_prediction(config[stage]["ca_refresh_prediction"], config["inference"])


def prediction_dirs(models):
    """{model: {post-processing: directory of its label maps on the eval split}}."""
    return {
        model: {variant: run_path(f"segmentation/{model}/{EVAL_SPLIT}/{variant}") for variant in VARIANTS}
        for model in models
    }


def split_shards(split, name="dataset"):
    """Names of the shards of the per-image stages on ``split`` of dataset ``name``: ``shards``, or one per ``shard_size`` images."""
    count = config["shards"]
    if count == "auto":
        data_root = config["data_root"] if name == "dataset" else config[name]["data_root"]
        size = split_size_hint(config[name]["kind"], data_root, config[name], split)
        count = auto_shard_count(size, config["shard_size"])
    return shard_names(count)


def shard_path(relative, shared=False):
    """Output of one shard of a per-image stage: <run or seed dir>/shards/<relative> (``relative`` holds {shard});
    ``shared``: of a deterministic stage, in results/<run>/shards/."""
    return (shared_path if shared else run_path)(f"shards/{relative}")


def shard_parts(relative, name=None, shared=False):
    """Input function of a gather rule: every shard's :func:`shard_path` (other wildcards as the job's).

    The shards are those of dataset ``name``'s split; by default of the evaluated dataset for a
    ``{split}`` of predictions, else of the training dataset's train_split.
    """

    def parts(wildcards):
        dataset = name or (EVALUATED_DATASET if "split" in dict(wildcards.items()) else "dataset")
        split = wildcards.get("split", config[dataset]["train_split"])
        return expand(shard_path(relative, shared), shard=split_shards(split, dataset), **dict(wildcards.items()))

    return parts


def paper_table_source(wildcards):
    """What SONet's paper table {table} is written from: the label tables' pseudo-label scores, the model tables' evaluation."""
    if wildcards.table == "table1a":
        return run_path("metrics/sonet_pseudo_labels.csv")
    if wildcards.table == "fig3c":
        return run_path("metrics/ablations/guidance_labels.csv")
    return run_path(f"metrics/sonet_models_{wildcards.table}.csv")
