"""Estimated wall time and memory of a shipped config's DAG on N cores + a GPU: `wsss doctor`'s price, on real photos.

    python benchmarks/paper_dag_estimate.py [--configfile configs/voc12_paper.yaml] [--targets all] [--gpu h200] [--cores 16] [--mfu 0.4]

The model is :mod:`wsss_core.cost` (the one `wsss doctor` prices a run with):
GPU FLOPs and memory of the config's networks counted on the meta device, host
costs timed on this machine, here on a real VOC photo of the shared sample
(``--sample``), the split sizes as published. GPU seconds = FLOPs / (peak x
``--mfu``); the GPU check (benchmarks/gpu_check.sh) measures the real
throughput where a GPU is available.
"""

from __future__ import annotations

import torch
from common import REPO, arguments, header

from wsss_core.cost.gpus import GPUS
from wsss_core.data.voc import read_id_list
from wsss_core.doctor import DEFAULT_MFU, load_config, price
from wsss_core.io import read_rgb


def main() -> None:
    parser = arguments(__doc__.split("\n")[0])
    parser.add_argument("--configfile", default=str(REPO / "configs" / "voc12_paper.yaml"))
    parser.add_argument("--targets", nargs="+", default=["all"], help="the run's targets, as for snakemake")
    parser.add_argument("--gpu", choices=sorted(GPUS), default="h200")
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--mfu", type=float, default=DEFAULT_MFU, help="share of the GPU's bf16 peak training reaches")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, problems = load_config([args.configfile], [])
    assert not problems, problems
    photo_id = read_id_list(args.sample / "train.txt")[0]
    photo = read_rgb(args.sample / "JPEGImages" / f"{photo_id}.jpg"), f"the sample's photo {photo_id}"
    header(f"Paper DAG estimate: {args.configfile} on {args.cores} cores + {GPUS[args.gpu].name}")
    print("\n".join(price(config, gpu_name=args.gpu, cores=args.cores, mfu=args.mfu, targets=args.targets, photo=photo)))


if __name__ == "__main__":
    main()
