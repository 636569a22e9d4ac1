"""The price of a run before it starts: its rules, the images each goes through, wall time and memory per rule.

:func:`plan_run` lists the compute rules of a configuration's targets (CTLR:
``all``, ``supervised`` and, with a VOC test split, ``voc_test``; SONet:
``all``, ``sonet_supervised`` and the paper's tables ``sonet_table1``, ``sonet_table2``,
``sonet_table3``, ``sonet_table5``, ``sonet_fig3c``; across datasets: ``all`` = ``o_plus_v`` and
``o_to_v``) with the images each goes through, as the DAG schedules them. :func:`price_plan`
turns them into minutes and memory with :mod:`wsss_core.cost.measure`'s
per-image costs:

* a GPU rule takes max(network seconds, host seconds / its workers) per
  image (batched passes and a writer thread overlap the two); network seconds
  are FLOPs x seconds per FLOP: on a GPU 1 / (its dense bf16 peak x MFU, the
  share a convolution network reaches), on a CPU as timed there; a training
  rule's GPUs are ``train_gpus``;
* the G_ca refresh of ``joint`` adds, per refresh, its forward pass and CRF_d
  per image: on the GPU (``ca_refresh_crf: torch``, bound by the bytes its
  kernels move, :func:`wsss_core.crf_torch.modelled_gpu_seconds`) or in
  pydensecrf on ``threads.train`` processes;
* a per-image CPU rule takes its host seconds on min(cores, ``threads.per_image``) processes.

Rules run one after another (conservative: some could overlap). GPU memory:
weights, gradients and SGD momentum plus what a training step saves for
backward, all fp32 (an upper bound: bf16 autocast saves about half of the
activations); inference: weights plus three times the largest activation of
the largest scale, per image of ``inference.batch_size``. Host memory: the
process (``base_gib``) plus the checkpoint twice (read, then copied into the
network), for training the data-loader workers' batches, for a per-image rule
:data:`WORKER_GIB` per worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping, Sequence

from wsss_core.cost.measure import NetworkCost
from wsss_core.evaluate.sonet_tables import TARGETS, TEST_ROWS, table_label_sets, table_models

GIB = 2**30
# a per-image worker process holding a photo, its maps and a CRF (config.yaml's mem_mb: refine_ctlr 1.6 GB with 2 workers)
WORKER_GIB = 0.5


# every rule plan_run may list
PRICED_RULES = frozenset({
    "index_dataset", "validate_inputs", "extract_saliency", "train_classifier", "dump_cams", "fuse_initial_labels",
    "cam_thresholds", "train_joint", "predict_train", "refine_ctlr", "retrain", "predict", "postprocess_crf",
    "train_supervised", "train_objectness", "objectness_maps", "sonet_labels", "train_sonet", "train_sonet_supervised",
    "train_deeplabv3", "eval_objectness_maps", "eval_sonet_labels", "finetune_sonet",
})  # fmt: skip
OBJECTNESS_SETTINGS = ("non_overlapping", "overlapping")

# the rules a run over seeds runs once for all seeds (rules/common.smk: shared_path)
SHARED_RULES = frozenset({"index_dataset", "validate_inputs", "extract_saliency"})


@dataclass(frozen=True)
class Step:
    """Compute rule ``rule`` (``detail``: its model / split) over ``images`` images; ``work`` says how it is priced."""

    rule: str
    detail: str
    work: str
    images: int
    network: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class Price:
    """A step's estimated wall minutes, GPU memory (GiB, None for a CPU rule) and host memory (GiB).

    ``gpu_minutes`` is its networks' part (FLOPs at the GPU's assumed speed; 0
    for a CPU rule), ``host_minutes`` its host part (the host work timed on
    this machine, over the rule's workers); ``minutes`` is the larger of the
    two per image (the two overlap) plus the parts that cannot.
    """

    step: Step
    minutes: float
    gpu_gib: float | None
    host_gib: float
    gpu_minutes: float = 0.0
    host_minutes: float = 0.0


def _ctlr(config: Mapping[str, Any], sizes: Mapping[str, int], targets: set[str]) -> list[Step]:
    train, evaluated = sizes["train"], sizes["eval"]
    sweep = 2 * len(config["labels"]["threshold_sweep"])
    steps = [
        Step("index_dataset", "", "index", sizes["all"]), Step("validate_inputs", "", "validate", sizes["all"]),
        Step("extract_saliency", "", "map_io", train),
        Step("train_classifier", "", "train", train, "multitask", "classifier"),
        Step("dump_cams", "", "cams", train, "multitask"),
        Step("fuse_initial_labels", "pCAM, sCAM", "fuse", 2 * train),
        Step("cam_thresholds", f"{sweep} fusions", "fuse", sweep * train),
        Step("train_joint", "", "train", train, "multitask", "joint"),
        Step("predict_train", "joint, train split", "predict", train, "multitask"),
        Step("refine_ctlr", "", "refine", train),
        Step("retrain", "", "train", train, "multitask", "retrain"),
        Step("predict", "joint and retrain, eval split", "predict", 2 * evaluated, "multitask"),
        Step("postprocess_crf", "joint and retrain, eval split", "crf", 2 * evaluated),
    ]  # fmt: skip
    if "supervised" in targets:
        steps += [Step("train_supervised", "target supervised", "train", train, "multitask", "supervised"),
                  Step("predict", "supervised, eval split", "predict", evaluated, "multitask"),
                  Step("postprocess_crf", "supervised, eval split", "crf", evaluated)]  # fmt: skip
    if "voc_test" in targets and sizes.get("test"):
        steps += [Step("predict", "retrain, test split (voc_test)", "predict", sizes["test"], "multitask"),
                  Step("postprocess_crf", "retrain, test split", "crf", sizes["test"])]  # fmt: skip
    return steps


def _sonet_models(config: Mapping[str, Any], supervision: str) -> list[str]:
    """The kinds of labels the SONets of a supervision train on (rules/common.smk: sonet_models)."""
    kinds = {"image": ["cam_objectness"], "box": ["box_objectness_ignore"]}[supervision]
    if config["sonet"]["baselines"]:
        kinds = {"image": ["cam"], "box": ["box", "box_objectness"]}[supervision] + kinds
    return kinds


def _table1_label_sets(has_boxes: bool) -> list[tuple[str, str]]:
    """Every set of pseudo labels of Table 1(a) the dataset allows (rules/common.smk: sonet_label_sets)."""
    kinds = [kind for kind in ("cam", "cam_objectness", "box", "box_objectness", "box_objectness_ignore") if has_boxes or kind.startswith("cam")]
    return [(kind, setting) for kind in kinds for setting in (OBJECTNESS_SETTINGS if "objectness" in kind else ("none",))]


def _sonet_plan(config: Mapping[str, Any], has_boxes: bool, targets: set[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """The networks (rules' model names) and the sets of pseudo labels a SONet run's targets need on its dataset."""
    setting = config["guidance"]["objectness_setting"]
    models: list[str] = []
    label_sets: list[tuple[str, str]] = []
    if "all" in targets:  # Table 1(a) and the SONets of the configured supervision
        label_sets += _table1_label_sets(has_boxes)
        models += [f"sonet-{kind}-{setting if 'objectness' in kind else 'none'}" for kind in _sonet_models(config, config["supervision"])]
    if "sonet_supervised" in targets:
        label_sets.append(("box_objectness", setting))
        models += [f"sonet-box_objectness-{setting}", "sonet-supervised-none"]
    tables = [table for target in targets for table in TARGETS.get(target, [])]
    if "table1a" in tables:  # scored from every label set of Table 1(a)
        label_sets += _table1_label_sets(has_boxes)
    label_sets += table_label_sets(tables)
    models += table_models(tables)
    if "sonet_table3" in targets:
        models += [row.model for row in TEST_ROWS]
    label_sets += [_labels_of(model) for model in models if model != "sonet-supervised-none"]
    return list(dict.fromkeys(models)), list(dict.fromkeys(label_sets))


def _labels_of(model: str) -> tuple[str, str]:
    _, kind, setting = model.split("-")
    return kind, setting


def _sonet(config: Mapping[str, Any], sizes: Mapping[str, int], has_boxes: bool, targets: set[str]) -> list[Step]:
    train, evaluated, cross = sizes["train"], sizes["eval"], bool(sizes.get("eval_dataset"))
    setting = config["guidance"]["objectness_setting"]
    steps = [Step("index_dataset", "", "index", sizes["all"]), Step("validate_inputs", "", "validate", sizes["all"])]
    if cross:  # Table 1(c): B and G^B (O -> V), and what fine-tuning starts from (O + V)
        finetuned = config["finetune"]["kinds"] if targets & {"all", "o_plus_v"} else []
        kinds = sorted({"box", "box_objectness", *finetuned})
        models = [f"sonet-{kind}-{setting if 'objectness' in kind else 'none'}" for kind in kinds]
        label_sets = [_labels_of(model) for model in models]
    else:
        models, label_sets = _sonet_plan(config, has_boxes, targets)
    if any(kind.startswith("cam") for kind, _ in label_sets):
        steps += [Step("train_classifier", "the CAMs of C_m and G^Cm", "train", train, "multitask", "classifier"),
                  Step("dump_cams", "", "cams", train, "multitask")]  # fmt: skip
    if any(labels_setting == "saliency" for _, labels_setting in label_sets):
        steps.append(Step("extract_saliency", "Fig. 3(c)", "map_io", train))
    objectness = {labels_setting for _, labels_setting in label_sets if labels_setting in OBJECTNESS_SETTINGS}
    objectness |= {setting if labels_setting not in OBJECTNESS_SETTINGS else labels_setting for _, labels_setting in
                   (_labels_of(model) for model in models if model.startswith("sonet-") and model != "sonet-supervised-none")}  # fmt: skip
    for network in (name for name in OBJECTNESS_SETTINGS if name in objectness):
        steps += [Step("train_objectness", network, "train", sizes["source"], "objectness", "objectness"),
                  Step("objectness_maps", network, "predict_single", train, "objectness")]  # fmt: skip
    steps.append(Step("sonet_labels", f"{len(label_sets)} label sets", "fuse", len(label_sets) * train))
    rules = {"sonet": "train_sonet", "deeplabv3": "train_deeplabv3", "supervised": "train_sonet_supervised"}
    for model in models:
        network = "supervised" if model == "sonet-supervised-none" else model.split("-")[0]
        steps += [Step(rules[network], model, "train", train, "sonet", "sonet"),
                  Step("predict", f"{model}, eval split", "predict", evaluated, "sonet"),
                  Step("postprocess_crf", f"{model}, eval split", "crf", evaluated)]  # fmt: skip
    if "sonet_table3" in targets and sizes.get("test"):
        for row in TEST_ROWS:
            steps += [Step("predict", f"{row.model}, test split", "predict", sizes["test"], "sonet"),
                      Step("postprocess_crf", f"{row.model}, test split", "crf", sizes["test"])]  # fmt: skip
    if cross and targets & {"all", "o_plus_v"}:
        kinds, eval_train = config["finetune"]["kinds"], sizes["eval_train"]
        steps += [Step("eval_objectness_maps", setting, "predict_single", eval_train, "objectness"),
                  Step("eval_sonet_labels", "fine-tuning labels", "fuse", len(kinds) * eval_train)]  # fmt: skip
        for kind in kinds:
            steps += [Step("finetune_sonet", kind, "train", eval_train, "sonet", "finetune"),
                      Step("predict", f"fine-tuned {kind}, eval split", "predict", evaluated, "sonet"),
                      Step("postprocess_crf", f"fine-tuned {kind}, eval split", "crf", evaluated)]  # fmt: skip
    return steps


def plan_run(config: Mapping[str, Any], sizes: Mapping[str, int], *, has_boxes: bool, targets: Sequence[str] = ("all",)) -> list[Step]:
    """The compute steps of the run's ``targets`` (module docstring); ``sizes``: images of train / eval / test / all / source.

    With ``seeds``, every step but the shared ones (:data:`SHARED_RULES`) runs once per seed:
    its images are counted once per seed.
    """
    steps = _ctlr(config, sizes, set(targets)) if config["method"] == "ctlr" else _sonet(config, sizes, has_boxes, set(targets))
    seeds = len(config.get("seeds") or [])
    if seeds < 2:
        return steps
    return [
        step if step.rule in SHARED_RULES else replace(step, images=seeds * step.images, detail=", ".join(filter(None, (step.detail, f"{seeds} seeds"))))
        for step in steps
    ]


def _stage_settings(config: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The stage's effective training settings: its section, completed by ``config_layers.resolve_stages``."""
    return config[stage]["train"]


def _refreshes(config: Mapping[str, Any], stage: str, epochs: int) -> int:
    every = config[stage].get("ca_refresh_every", 0) if stage in ("joint", "retrain") else 0
    return len([epoch for epoch in range(1, epochs) if every and epoch % every == 0])


def price_plan(
    steps: list[Step],
    config: Mapping[str, Any],
    networks: Mapping[str, NetworkCost],
    host: Mapping[str, float],
    *,
    cores: int,
    flop_seconds: float,
    refresh_crf_seconds: float | None,
    on_gpu: bool,
    base_gib: float,
    source_pixels_ratio: float = 1.0,
) -> list[Price]:
    """Minutes and memory of every step (module docstring) on ``cores`` CPU cores.

    ``flop_seconds``: seconds per FLOP of the GPU rules' networks (on a GPU:
    1 / (peak x MFU); on this CPU: as timed); ``refresh_crf_seconds``: the
    torch CRF_d of one image on the GPU (None: pydensecrf's, timed, on
    ``threads.train`` processes). With ``on_gpu`` False the GPU rules run on
    the CPU: their memory is host memory. Host work is timed on a photo of the
    training split; the objectness network's source photos have
    ``source_pixels_ratio`` times its pixels.
    """
    per_image_workers = max(1, min(cores, config["threads"]["per_image"]))
    train_threads = max(1, min(cores, config["threads"]["train"]))
    host_work = {
        "index": host["label_map"], "validate": (host["decode"] + 2 * host["label_map"]) / per_image_workers,
        "map_io": (host["label_map"] + host["png"]) / per_image_workers,
        "fuse": (2 * host["label_map"] + host["png"]) / per_image_workers,
        "refine": (host["crf2"] + 2 * host["png"]) / per_image_workers,
        "crf": 2 * (host["crf_labels"] + host["png"]) / per_image_workers,
    }  # fmt: skip
    prices = []
    for step in steps:
        net = networks.get(step.network) if step.network else None
        if step.work in host_work:
            minutes = step.images * host_work[step.work] / 60
            prices.append(Price(step, minutes, None, base_gib + per_image_workers * WORKER_GIB, 0.0, minutes))
            continue
        assert net is not None, step
        checkpoint_gib = 2 * net.params_bytes / GIB
        if step.work == "train":
            settings = _stage_settings(config, step.stage)
            gpus = config["train_gpus"]
            workers = train_threads if settings["num_workers"] == "auto" else max(1, min(cores, settings["num_workers"]))
            sample = host["train_sample"] * (source_pixels_ratio if step.network == "objectness" else 1.0)
            network, loading = net.train_flops * flop_seconds / gpus, sample / workers
            seconds = settings["epochs"] * step.images * max(network, loading)
            parts = [settings["epochs"] * step.images * network, settings["epochs"] * step.images * loading]
            refreshes = _refreshes(config, step.stage, settings["epochs"])
            if refreshes:  # the G_ca refresh of Eq. 4: a forward pass and CRF_d per image
                torch_crf = config[step.stage]["ca_refresh_crf"] == "torch" and refresh_crf_seconds is not None
                refresh_crf = refresh_crf_seconds if torch_crf else host["crf2"] / train_threads
                forward, io = net.pass_flops["refresh"] * flop_seconds, (host["decode"] + host["png"]) / train_threads
                refresh_gpu, refresh_host = (forward + refresh_crf, io) if torch_crf else (forward, io + refresh_crf)
                seconds += refreshes * step.images * max(forward + refresh_crf, io)
                parts = [parts[0] + refreshes * step.images * refresh_gpu, parts[1] + refreshes * step.images * refresh_host]
            gpu_gib = (3 * net.params_bytes + net.train_saved_bytes * settings["batch_size"] / gpus) / GIB
            loader_gib = workers * 2 * settings["batch_size"] * 3 * 4 * settings["crop_size"] ** 2 / GIB
            prices.append(_placed(step, seconds, parts, gpu_gib, base_gib + checkpoint_gib + loader_gib, on_gpu))
            continue
        passes = {"cams": "cams", "predict": "predict", "predict_single": "forward"}[step.work]
        store = host["store"] if step.work != "predict_single" else host["png"]
        network, io = net.pass_flops[passes] * flop_seconds, store + host["decode"] / train_threads
        seconds = step.images * max(network, io)
        gpu_gib = (net.params_bytes + 3 * net.inference_peak_bytes * config["inference"]["batch_size"]) / GIB
        prices.append(_placed(step, seconds, [step.images * network, step.images * io], gpu_gib, base_gib + checkpoint_gib, on_gpu))
    return prices


def _placed(step: Step, seconds: float, parts: list[float], gpu_gib: float, host_gib: float, on_gpu: bool) -> Price:
    """A GPU rule's price (``parts``: its network and host seconds): its network's memory on the GPU, or, run on the
    CPU, in host memory."""
    gpu_minutes, host_minutes = parts[0] / 60, parts[1] / 60
    if on_gpu:
        return Price(step, seconds / 60, gpu_gib, host_gib, gpu_minutes, host_minutes)
    return Price(step, seconds / 60, None, host_gib + gpu_gib, gpu_minutes, host_minutes)
