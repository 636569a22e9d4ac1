"""``wsss doctor``: what a run will meet, before it starts: the environment, the checks, the price.

The configuration is merged as the workflow merges it (``config.yaml`` of this
checkout, then each ``--configfile``, then ``--config`` items, parsed by
Snakemake's own parser) and completed by the schema. The report has three
parts: (a) the environment (torch, CUDA, every GPU with its memory and bf16
support, pydensecrf, Snakemake, the SLURM executor plugin, cores, memory);
(b) the configuration's problems: unknown keys, schema violations, the
pre-flight check of :mod:`wsss_core.preflight`; and warnings: the class map of
an objectness run, a GPU that ``device: cuda`` asks for and torch does not see
here (a login node may have none);
(c) the price (:mod:`wsss_core.cost`): minutes, GPU and host memory per rule
and in all, for this machine's GPU and cores, or for a GPU named with
``--gpu`` (say, on a login node without one).
"""

from __future__ import annotations

import copy
import importlib.metadata
import os
import platform
import re
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import torch
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config, validate

from wsss_core.config_keys import config_problems
from wsss_core.config_layers import Layer, config_layers, resolve_stages, run_stages, shadowed_settings
from wsss_core.crf import CrfParams
from wsss_core.crf_torch import modelled_gpu_seconds
from wsss_core.cost.gpus import GpuSpec, gpu_spec
from wsss_core.cost.measure import cpu_flop_seconds, host_costs, network_cost
from wsss_core.cost.plan import GIB, Price, plan_run, price_plan
from wsss_core.cost.sizes import TYPICAL_SIZE, run_sizes, sample_photo
from wsss_core.engine.device import device_problem
from wsss_core.preflight import class_map_warnings, preflight

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_MFU = 0.4  # share of the bf16 peak a convolution network's training reaches (an assumption, not a measurement)
CRF_BANDWIDTH_SHARE = 0.25  # share of the GPU's memory bandwidth the torch CRF_d's scatter / gather kernels reach (assumed)


def _schema_message(text: str) -> str:
    """jsonschema's reason and the key it concerns, out of Snakemake's validation message."""
    reason = next((line.removeprefix("ValidationError: ") for line in text.splitlines() if line.startswith("ValidationError: ")), None)
    where = re.search(r"^On instance((?:\[[^\]]+\])*)", text, flags=re.MULTILINE)
    if reason is None:
        return text.splitlines()[0]
    key = ".".join(re.findall(r"\['?([^'\]]+)'?\]", where.group(1))) if where and where.group(1) else ""
    return f"{key}: {reason}" if key else reason


def load_layers(configfiles: Sequence[str | os.PathLike], items: Sequence[str]) -> list[Layer]:
    """The layers of a run's configuration, as the workflow takes them: this checkout's config.yaml, each file, the items.

    ``items`` are ``key=value`` strings, parsed by Snakemake's own parser.
    A missing or unreadable file raises ``InputError`` naming it.
    """
    return config_layers(CHECKOUT / "config.yaml", configfiles, parse_config(list(items)))


def merged_config(layers: Sequence[Layer]) -> tuple[dict[str, Any], list[str]]:
    """The configuration of ``layers`` and its problems (unknown keys, schema violations), as the workflow makes it:
    merged key by key, checked and completed by the schema, each stage's settings resolved."""
    config: dict[str, Any] = {}
    for layer in layers:
        update_config(config, copy.deepcopy(dict(layer.values)))
    schema = yaml.safe_load((CHECKOUT / "schemas" / "config.schema.yaml").read_text())
    problems = config_problems(config, schema)
    if not problems:
        try:
            validate(config, str(CHECKOUT / "schemas" / "config.schema.yaml"), set_default=True)
        except Exception as err:  # snakemake's WorkflowError carries jsonschema's message
            problems.append(f"configuration: {_schema_message(str(err))}")
    if not problems:
        resolve_stages(config, layers)
    return config, problems


def load_config(configfiles: Sequence[str | os.PathLike], items: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """The merged configuration of a run and its problems, as the workflow merges it (:func:`load_layers`, :func:`merged_config`)."""
    return merged_config(load_layers(configfiles, items))


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment() -> list[str]:
    """One line per thing a run needs from the machine."""
    lines = [
        f"python {platform.python_version()}, torch {torch.__version__} "
        f"({'CUDA ' + torch.version.cuda + ' build' if torch.version.cuda else 'CPU-only build'}, cuDNN {torch.backends.cudnn.version()})",
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            bf16 = "bf16" if torch.cuda.get_device_capability(index) >= (8, 0) else "no bf16"
            lines.append(f"GPU {index}: {props.name}, {props.total_memory / GIB:.1f} GiB, {bf16}")
    else:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        lines.append("GPU: none visible to torch" + (f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    lines.append(f"CPU: {len(os.sched_getaffinity(0))} cores usable, {memory:.1f} GiB memory")
    lines.append(
        f"pydensecrf2 {_version('pydensecrf2')}, snakemake {_version('snakemake')}, "
        f"snakemake-executor-plugin-slurm {_version('snakemake-executor-plugin-slurm')}"
    )
    return lines


def checks(config: dict[str, Any], layers: Sequence[Layer], targets: Sequence[str] = ("all",)) -> tuple[list[str], list[str]]:
    """(problems, warnings) of a merged, validated configuration of ``layers`` for ``targets`` on this machine."""
    device = device_problem(config["device"])
    on_a_cluster = [f"{device} (a local run stops at its start; on a cluster each GPU rule checks its own node)"] if device else []
    return preflight(config, targets), class_map_warnings(config) + shadowed_settings(layers, run_stages(config)) + on_a_cluster


def _num_classes(config: dict[str, Any]) -> int:
    kind = config["dataset"]["kind"]
    if kind == "generated":
        return int(config["dataset"]["generator"]["num_classes"])
    if kind == "folder":
        classes = Path(config["data_root"] or ".") / "classes.txt"
        return len(classes.read_text().split("\n")) if classes.is_file() else 20
    return {"coco": 80, "cityscapes": 8}.get(kind, 20)  # voc, openimages (onto the VOC classes)


def _has_boxes(config: dict[str, Any]) -> bool:
    """Whether the training dataset has object boxes (rules/common.smk: dataset_has_boxes); a VOC download not there yet has."""
    kind, root = config["dataset"]["kind"], Path(config["data_root"] or ".")
    if kind == "voc":
        return (root / "Annotations").is_dir() or not root.is_dir()
    if kind == "folder":
        return (root / "boxes.csv").is_file()
    return kind in ("generated", "cityscapes", "openimages")


@dataclass(frozen=True)
class Estimate:
    """The price of a run: what it is priced for, its sizes, every rule's :class:`~wsss_core.cost.plan.Price`."""

    heading: str
    sizes: str
    provenance: list[str]
    prices: list[Price]
    gpu: GpuSpec | None

    @property
    def minutes(self) -> float:
        return sum(item.minutes for item in self.prices)

    @property
    def network_minutes(self) -> float:
        return sum(item.gpu_minutes for item in self.prices)

    @property
    def host_minutes(self) -> float:
        return sum(item.host_minutes for item in self.prices)

    @property
    def peak_gpu_gib(self) -> float | None:
        return max((item.gpu_gib for item in self.prices if item.gpu_gib is not None), default=0.0) if self.gpu else None

    @property
    def peak_host_gib(self) -> float:
        return max(item.host_gib for item in self.prices)


def estimate(
    config: dict[str, Any],
    *,
    gpu_name: str | None,
    cores: int,
    mfu: float,
    targets: Sequence[str] = ("all",),
    photo: tuple[Any, str] | None = None,
) -> Estimate:
    """The price of the run, rule by rule; every figure an estimate.

    ``photo`` ((H,W,3) image, where it comes from) is what host costs are timed
    on; by default a photo of the run's training split (:func:`~wsss_core.cost.sizes.sample_photo`).
    """
    sizes, provenance = run_sizes(config)
    photo, where = photo if photo is not None else sample_photo(config)
    scale = min(1.0, (config["inference"]["max_side"] or max(photo.shape[:2])) / max(photo.shape[:2]))
    size = (round(photo.shape[0] * scale), round(photo.shape[1] * scale))
    classes = _num_classes(config)
    shared = {"scales": config["inference"]["scales"], "flip": config["inference"]["flip"], "image_size": size}
    networks = {"multitask": network_cost("multitask", config, classes, batch=2, crop=config["train"]["crop_size"], **shared)}
    if config["method"] == "sonet" or config["guidance"]["method"] == "objectness":
        sonet_crop = config["sonet"]["train"]["crop_size"]
        objectness_crop = config["objectness"]["train"]["crop_size"]
        networks["sonet"] = network_cost("sonet", config, classes, batch=2, crop=sonet_crop, **shared)
        networks["objectness"] = network_cost("objectness", config, classes, batch=2, crop=objectness_crop, **shared)
    host = host_costs(photo, config, classes + 1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
    on_cpu = gpu_name is None and not torch.cuda.is_available() and config["device"] != "cuda"
    if on_cpu:  # device auto or cpu and no GPU here: the GPU rules run on this machine's CPU
        flop_seconds, refresh_crf, gpu = cpu_flop_seconds(config, classes, min(cores, config["threads"]["train"])), None, None
        heading = f"estimated for this machine's CPU, {cores} cores (no GPU: the GPU rules run on the CPU at the speed timed here)"
    else:
        gpu = gpu_spec(gpu_name or (torch.cuda.get_device_name(0) if torch.cuda.is_available() else "h100"))
        flop_seconds = 1.0 / (gpu.bf16_tflops * 1e12 * mfu)
        crf = CrfParams.from_config(config["crf"]["class_agnostic"])
        refresh_crf = modelled_gpu_seconds(cv2.resize(photo, size[::-1]), crf, gpu.bandwidth_tbs * 1e12 * CRF_BANDWIDTH_SHARE)
        whose = "named with --gpu" if gpu_name else ("this machine's" if torch.cuda.is_available() else "device: cuda and no GPU here: priced for an H100, name another with --gpu")
        heading = f"estimated for {gpu.name} ({whose}; {gpu.bf16_tflops:g} TFLOP/s bf16 at {mfu:.0%} of it), {cores} CPU cores"
    steps = plan_run(config, sizes, has_boxes=_has_boxes(config), targets=targets)
    source = TYPICAL_SIZE["coco"] if config["objectness"]["source_kind"] == "coco_stuff" else photo.shape[:2]
    prices = price_plan(
        steps, config, networks, host, cores=cores, flop_seconds=flop_seconds, refresh_crf_seconds=refresh_crf, on_gpu=not on_cpu,
        base_gib=base, source_pixels_ratio=source[0] * source[1] / (photo.shape[0] * photo.shape[1]),
    )  # fmt: skip
    counts = (
        f"images: train {sizes['train']:,}, eval {sizes['eval']:,}" + (f", test {sizes['test']:,}" if sizes.get("test") else "")
        + (f", objectness source {sizes['source']:,}" if sizes.get("source") else "") + f"; host costs timed on {where} (CPU time)"
    )  # fmt: skip
    return Estimate(heading, counts, provenance, prices, gpu)


def price(config: dict[str, Any], **options: Any) -> list[str]:
    """The lines of the price of the run (:func:`estimate`'s options): a heading, one line per rule, the totals."""
    result = estimate(config, **options)
    prices, gpu = result.prices, result.gpu
    width = max(34, *(len(item.step.detail) for item in prices))  # the widest "what" unclipped ("..., 3 seeds")
    network = "GPU" if gpu is not None else "network"
    lines = [
        result.heading, result.sizes, *result.provenance,
        f"{'rule':<24} {'what':<{width}} {'images':>9} {network + ' min':>9} {'host min':>9} {'minutes':>9} {'GPU GiB':>8} {'host GiB':>8}",
    ]  # fmt: skip
    for item in prices:
        gpu_gib = f"{item.gpu_gib:8.1f}" if item.gpu_gib is not None else f"{'-':>8}"
        lines.append(
            f"{item.step.rule:<24} {item.step.detail:<{width}} {item.step.images:>9,} {item.gpu_minutes:>9.1f} "
            f"{item.host_minutes:>9.1f} {item.minutes:>9.1f} {gpu_gib} {item.host_gib:>8.1f}"
        )
    total = result.minutes
    parts = (
        f"the {network} part {result.network_minutes / 60:.1f} h, the host part {result.host_minutes / 60:.1f} h "
        "(each rule takes the larger of its two, they overlap)"
    )
    if gpu is None:
        return [*lines, f"total: {total / 60:.1f} h ({total:.0f} min); peak host memory {result.peak_host_gib:.1f} GiB", parts]
    lines.append(
        f"total: {total / 60:.1f} h ({total:.0f} min); peak GPU memory {result.peak_gpu_gib:.1f} GiB of {gpu.memory_gib:g}, "
        f"peak host memory {result.peak_host_gib:.1f} GiB"
    )
    lines.append(parts)
    if result.peak_gpu_gib > gpu.memory_gib:
        lines.append(f"warning: the largest rule needs more GPU memory than {gpu.name} has: lower train.batch_size or inference.batch_size")
    return lines


def doctor(
    configfiles: Sequence[str], items: Sequence[str], *, targets: Sequence[str], gpu_name: str | None, cores: int | None, mfu: float
) -> tuple[str, int]:
    """The report and the exit status (1 when the run has a problem)."""
    layers = load_layers(configfiles, items)
    config, problems = merged_config(layers)
    sections = ["environment", *(f"  {line}" for line in environment())]
    warnings: list[str] = []
    if not problems:
        problems, warnings = checks(config, layers, targets)
    sections += ["checks", *(f"  problem: {line}" for line in problems), *(f"  warning: {line}" for line in warnings)]
    if not problems and not warnings:
        sections.append("  no problem found")
    if not any(line.startswith(("unknown config key", "configuration:")) for line in problems):
        usable = len(os.sched_getaffinity(0))
        sections += ["price (an estimate)", *(f"  {line}" for line in price(config, gpu_name=gpu_name, cores=cores or usable, mfu=mfu, targets=targets))]
    return "\n".join(sections), 1 if problems else 0

