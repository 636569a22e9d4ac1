"""The cost table every page of the manual that quotes a cost includes: `wsss doctor`'s price of each shipped config.

    python benchmarks/cost_table.py [--out docs/includes/costs.md] [--gpu h100] [--cores 16] [--mfu 0.4]

Each config of ``configs/`` is priced for the targets of its header's commands,
the paper configs on one GPU of ``--gpu`` with ``--cores`` CPU cores, the CPU
configs (the demo, the VOC sample) on this machine's CPU and cores; split sizes
as the datasets are published (the VOC sample: its 300 ids), host work timed
on this machine in CPU time on a synthetic photo of each dataset's typical
size. The table gives, per config, the network part (the GPU rules' FLOPs at
``--mfu`` of the GPU's bf16 peak, or timed on this CPU), the host part (the
host work, timed here, over each rule's workers), the estimate (per rule the
larger of the two, summed over the rules) and the peak memory. Writes the
Markdown table to ``--out`` and prints it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from common import REPO

from wsss_core.config_layers import header_targets
from wsss_core.cost.gpus import GPUS
from wsss_core.doctor import DEFAULT_MFU, Estimate, estimate, load_config
from wsss_core.data.voc_sample import SAMPLE_IDS

CPU_CONFIGS = ("config.yaml", "voc12_sample")  # sized for a CPU: priced on this machine


def _row(name: str, result: Estimate, targets: list[str], reference: str) -> str:
    gpu = "-" if result.peak_gpu_gib is None else f"{result.peak_gpu_gib:.1f} GiB"
    hours = lambda minutes: f"{minutes / 60:.1f} h" if minutes >= 60 else f"{minutes:.0f} min"  # noqa: E731
    return (
        f"| `{name}` | `{' '.join(targets)}` | {reference} | {hours(result.network_minutes)} | {hours(result.host_minutes)} "
        f"| {hours(result.minutes)} | {gpu} | {result.peak_host_gib:.1f} GiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "includes" / "costs.md")
    parser.add_argument("--gpu", choices=sorted(GPUS), default="h100")
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--mfu", type=float, default=DEFAULT_MFU)
    args = parser.parse_args()
    torch.set_num_threads(1)
    here = len(os.sched_getaffinity(0))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "voc12_sample"  # the sample's id list, to count its splits without the photos
        sample.mkdir()
        (sample / "train.txt").write_text(SAMPLE_IDS.read_text())
        for path in [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]:
            name = path.name if path.name == "config.yaml" else path.stem
            items = [f"data_root={sample}"] if name == "voc12_sample" else []
            config, problems = load_config([] if name == "config.yaml" else [path], items)
            assert not problems, (name, problems)
            targets = ["all"] if name == "config.yaml" else header_targets(path)
            on_cpu = name in CPU_CONFIGS
            config = {**config, "device": "cpu"} if on_cpu else config
            result = estimate(config, gpu_name=None if on_cpu else args.gpu, cores=here if on_cpu else args.cores, mfu=args.mfu, targets=targets)
            reference = f"{here} CPU cores (no GPU)" if on_cpu else f"{GPUS[args.gpu].name}, {args.cores} CPU cores"
            rows.append(_row(name, result, targets, reference))
    header = [
        f"<!-- written by benchmarks/cost_table.py on {time.strftime('%Y-%m-%d')}: wsss doctor's estimates; do not edit by hand -->",
        "| config | targets | priced for | network part | host part | estimate | peak GPU memory | peak host memory |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    text = "\n".join([*header, *rows]) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
