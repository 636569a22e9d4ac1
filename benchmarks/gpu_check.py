"""The GPU check: training throughput of the paper backbones, the GPU's busy share in train_joint, the sample DAG.

    python benchmarks/gpu_check.py [--dry] [--run results/voc12_sample] [--out DIR]

1. Training images/s of resnet38, resnet50 and mobilenet_v2 (random weights)
   at 321 px crops, batch 4 and 16: fp32, bf16 autocast, bf16 + channels-last,
   and bf16 + channels-last + torch.compile; peak GPU memory of each.
2. With ``--run`` (a finished sample run carried along: its dataset index,
   classifier checkpoint, initial labels and guidance maps): train_joint as
   the DAG runs it, while ``nvidia-smi`` samples the GPU's utilisation; the
   busy share is the mean of those samples.
3. With ``--dag`` and snakemake importable: the sample DAG's wall time.
4. The torch backend of the G_ca refresh's CRF_d (wsss_core.crf_torch) on a
   500 x 375 image of random colours (the largest bilateral grid): ms per
   image, against the model of wsss doctor (benchmarks/cost_table.py).

``--dry`` runs every part on the CPU at toy sizes (1-2 steps, 64 px), to
check the script where no GPU is; its figures mean nothing. Results are
printed and written to ``<out>/gpu_check.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wsss_core.models.multitask import build_model  # noqa: E402

BACKBONES = {"resnet38": {}, "resnet50": {}, "mobilenet_v2": {}}
PRECISIONS = ("fp32", "bf16", "bf16+channels_last", "bf16+channels_last+compile")


def _step_function(model: torch.nn.Module, precision: str, device: torch.device):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    forward = torch.compile(model) if precision.endswith("compile") else model

    def step(images: torch.Tensor) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision != "fp32"):
            out = forward(images, branches=("cls", "ca", "seg"))
            loss = sum(value.float().mean() for key, value in out.items() if key != "features")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def throughput(device: torch.device, dry: bool) -> list[dict]:
    """Training images/s and peak memory for every backbone, batch size and precision."""
    rows = []
    size, steps, warmup = (64, 2, 1) if dry else (321, 20, 5)
    for backbone, options in BACKBONES.items():
        for batch in (4, 16):
            for precision in PRECISIONS:
                if dry and precision.endswith("compile"):
                    continue
                torch.manual_seed(0)
                model = build_model({"num_classes": 20, "backbone": "tiny" if dry else backbone, "backbone_options": options,
                                     "decoder_channels": 256}).to(device).train()  # fmt: skip
                images = torch.randn(batch, 3, size, size, device=device)
                if "channels_last" in precision:
                    model, images = model.to(memory_format=torch.channels_last), images.contiguous(memory_format=torch.channels_last)
                step = _step_function(model, precision, device)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                for _ in range(warmup):
                    step(images)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                started = time.perf_counter()
                for _ in range(steps):
                    step(images)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                elapsed = time.perf_counter() - started
                peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
                rows.append({"backbone": backbone, "batch": batch, "precision": precision,
                             "images_per_s": batch * steps / elapsed, "peak_GiB": peak})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
                del model, step, images
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return rows


class _Utilisation(threading.Thread):
    """Samples ``nvidia-smi``'s GPU utilisation every 200 ms until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            query = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True, check=False)  # fmt: skip
            if query.returncode == 0 and query.stdout.strip():
                self.samples.append(float(query.stdout.split()[0]))
            time.sleep(0.2)

    def stop(self) -> float | None:
        self._stop.set()
        self.join()
        return sum(self.samples) / len(self.samples) if self.samples else None


def joint(run: Path, device: torch.device, dry: bool, work: Path) -> dict:
    """train_joint on a finished sample run's inputs, with the GPU's mean utilisation while it trains."""
    from wsss_core.crf import CrfParams
    from wsss_core.ctlr.joint import train_joint
    from wsss_core.doctor import load_config

    config, _ = load_config([REPO / "configs" / "voc12_sample.yaml"], [])
    train = {**config["joint"]["train"], **({"epochs": 1} if dry else {})}
    monitor = _Utilisation() if device.type == "cuda" else None
    if monitor is not None:
        monitor.start()
    started = time.perf_counter()
    train_joint(run / "dataset", config["dataset"]["train_split"], run / "checkpoints" / "classifier.pt",
                run / "labels" / "initial_pcam", run / "saliency", work / "joint.pt", work / "ca", work / "joint.csv",
                train_config=train, crf=CrfParams(**config["crf"]["class_agnostic"]),
                ca_prior_threshold=config["labels"]["saliency_fg_threshold"], ca_refresh_every=config["joint"]["ca_refresh_every"],
                ca_refresh_overlap=config["joint"]["ca_refresh_overlap"], max_side=config["inference"]["max_side"],
                batch_size=config["inference"]["batch_size"], threads=16, workers=15)  # fmt: skip
    wall = time.perf_counter() - started
    busy = monitor.stop() if monitor is not None else None
    return {"train_joint_s": wall, "gpu_busy_pct": busy}


def crf_torch(device: torch.device, dry: bool) -> dict:
    """ms per image of the torch CRF_d (two labels, the config's CRF_d) on ``device``."""
    from wsss_core.crf import CrfParams
    from wsss_core.crf_torch import mean_field_torch

    generator = torch.Generator().manual_seed(0)
    height, width = (64, 48) if dry else (375, 500)
    image = torch.randint(0, 256, (height, width, 3), dtype=torch.uint8, generator=generator)
    unary = -torch.log(torch.rand(2, height, width, generator=generator).clamp_min(1e-5)).to(device)
    repeats = 1 if dry else 20
    mean_field_torch(image, unary, CrfParams())  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        mean_field_torch(image, unary, CrfParams())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return {"crf_torch_ms_per_image": 1e3 * (time.perf_counter() - started) / repeats}


def dag(work: Path, dry: bool) -> dict:
    """Wall time of the sample DAG (snakemake must be importable; the sample lies beside the repository)."""
    try:
        import snakemake  # noqa: F401
    except ImportError:
        return {"dag": "skipped: snakemake is not installed here"}
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "16",
               "--resources", "gpu=1", "--configfile", str(REPO / "configs" / "voc12_sample.yaml")]  # fmt: skip
    if dry:
        command.append("-n")
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return {"dag_s": time.perf_counter() - started, "dag_exit": result.returncode, "dag_tail": result.stderr[-1000:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry", action="store_true", help="toy sizes on the CPU (no GPU here)")
    parser.add_argument("--run", type=Path, default=None, help="a finished sample run (results/voc12_sample)")
    parser.add_argument("--dag", action="store_true", help="also run the sample DAG (needs snakemake)")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    device = torch.device("cpu" if args.dry else "cuda")
    if not args.dry and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device; use --dry to check the script on the CPU")
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (--dry: figures mean nothing)"
    report = {"device": name, "torch": torch.__version__, "crf_torch": crf_torch(device, args.dry)}
    report["throughput"] = throughput(device, args.dry)
    with tempfile.TemporaryDirectory() as tmp:
        if args.run is not None:
            report["joint"] = joint(args.run, device, args.dry, Path(tmp))
        if args.dag:
            report["dag"] = dag(Path(tmp), args.dry)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({key: value for key, value in report.items() if key != "throughput"}, indent=1))
    shutil.rmtree(Path(tmp), ignore_errors=True)


if __name__ == "__main__":
    main()
