"""The G_ca refresh's CRF (Eq. 4) on both backends: label agreement on real photos, CPU cost, modelled GPU cost.

    python benchmarks/crf_backends.py --run results/voc12_sample [--images 60]

On the first ``--images`` training photos of a finished sample run, CRF_d of
(Pr_ca + Pt_sal) / 2, with Pr_ca the joint model's stored prediction and
Pt_sal the run's saliency map, is computed by pydensecrf and by the torch
backend (on this machine's CPU, one thread). Printed: the share of identical
pixels, the foreground IoU between the two and against the ground truth, the
foreground shares, CPU seconds per image, and the torch backend's GPU time per
image modelled from the bytes its kernels move (``--hbm-tbs`` x
``--efficiency``; benchmarks/gpu_check.sh measures it on a GPU).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import yaml
from common import REPO, arguments, header, table

from wsss_core.crf import CrfParams, crf_foreground
from wsss_core.crf_torch import modelled_gpu_seconds
from wsss_core.data.dataset import load_index
from wsss_core.evaluate.tables import read_ground_truth
from wsss_core.guidance.maps import read_guidance
from wsss_core.io import read_rgb
from wsss_core.store import read_store


def main() -> None:
    parser = arguments(__doc__.split("\n")[0], sample=False)
    parser.add_argument("--run", type=Path, required=True, help="results/<run> of a finished sample run")
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--hbm-tbs", type=float, default=4.8, help="GPU memory bandwidth, TB/s (H200: 4.8)")
    parser.add_argument("--efficiency", type=float, default=0.25, help="share of it that scatter / gather kernels reach")
    args = parser.parse_args()
    torch.set_num_threads(1)
    header("G_ca refresh CRF: pydensecrf vs torch")
    crf = CrfParams.from_config(yaml.safe_load((REPO / "config.yaml").read_text())["crf"]["class_agnostic"])
    index = load_index(args.run / "dataset")
    ids = index.ids("train")[: args.images]
    sums = {"alike": 0, "pixels": 0, "both": 0, "either": 0, "fg_ref": 0, "fg_torch": 0}
    truth_counts = {"pydensecrf": np.zeros(2), "torch": np.zeros(2)}
    cpu = {"pydensecrf": 0.0, "torch": 0.0}
    modelled = 0.0
    with read_store(args.run / "predictions" / "joint" / "train.h5") as store:
        for image_id in ids:
            image = read_rgb(index.image_path(image_id))
            ca_prob = np.asarray(store.read(image_id, "ca_ms")["ca_ms"], dtype=np.float32)
            belief = (ca_prob + read_guidance(args.run / "saliency" / f"{image_id}.png", ca_prob.shape)) / 2.0
            labels = {}
            for backend, device in (("pydensecrf", None), ("torch", torch.device("cpu"))):
                started = time.process_time()
                labels[backend] = crf_foreground(image, belief, crf, device).astype(bool)
                cpu[backend] += time.process_time() - started
            reference, other = labels["pydensecrf"], labels["torch"]
            sums["alike"] += int((reference == other).sum())
            sums["pixels"] += reference.size
            sums["both"] += int((reference & other).sum())
            sums["either"] += int((reference | other).sum())
            sums["fg_ref"] += int(reference.sum())
            sums["fg_torch"] += int(other.sum())
            truth = read_ground_truth(index, image_id)
            valid, objects = truth != 255, (truth > 0) & (truth != 255)
            for backend, mask in labels.items():
                truth_counts[backend] += [(mask & objects & valid).sum(), ((mask | objects) & valid).sum()]
            modelled += modelled_gpu_seconds(image, crf, args.hbm_tbs * 1e12 * args.efficiency)
    n = len(ids)
    print(f"{n} training photos of {args.run}, CRF_d {crf}\n")
    rows = [
        {"measure": "identical pixels %", "value": 100 * sums["alike"] / sums["pixels"]},
        {"measure": "foreground IoU torch vs pydensecrf", "value": 100 * sums["both"] / sums["either"]},
        {"measure": "foreground share % pydensecrf", "value": 100 * sums["fg_ref"] / sums["pixels"]},
        {"measure": "foreground share % torch", "value": 100 * sums["fg_torch"] / sums["pixels"]},
        *({"measure": f"foreground IoU vs GT {b}", "value": 100 * c[0] / c[1]} for b, c in truth_counts.items()),
        *({"measure": f"CPU s/image {b} (1 thread)", "value": seconds / n} for b, seconds in cpu.items()),
        {"measure": "torch on a GPU: modelled ms/image", "value": 1e3 * modelled / n},
    ]
    print(table(rows, ["measure", "value"]))


if __name__ == "__main__":
    main()
