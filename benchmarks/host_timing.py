"""How much a loaded machine moves `wsss doctor`'s host part: CPU time (what it uses) against wall time.

    python benchmarks/host_timing.py [--configfile configs/voc12_paper.yaml] [--load 0 2 4] [--repeat 3]

With ``--load`` N busy processes beside it (each spinning on one core), times
the host work of one photo (``wsss_core.cost.measure.host_costs``: decoding, a
training sample, the CRFs, label maps, stores) ``--repeat`` times, in the
process's CPU time, as the doctor does, and on the wall clock; prints the sum
of the per-image costs per load, their spread (min-max) and the ratio to the
unloaded figure.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from pathlib import Path

import numpy as np
import torch
from common import REPO, header, table

from wsss_core.cost import measure
from wsss_core.cost.sizes import sample_photo
from wsss_core.doctor import load_config


def _spin(stop: multiprocessing.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _timed(config: dict, photo: np.ndarray, clock) -> float:
    """The summed per-image host seconds of one photo, timed on ``clock``."""
    original = measure.time.process_time
    measure.time.process_time = clock
    try:
        return sum(measure.host_costs(photo, config, 21).values())
    finally:
        measure.time.process_time = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configfile", type=Path, default=REPO / "configs" / "voc12_paper.yaml")
    parser.add_argument("--load", type=int, nargs="+", default=[0, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, _ = load_config([args.configfile], [])
    photo, where = sample_photo(config)
    header(f"host timing of {args.configfile.name} on {where}, under load")
    rows, base = [], {}
    for load in args.load:
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(load)]
        for spinner in spinners:
            spinner.start()
        time.sleep(1.0)
        try:
            figures = {name: [_timed(config, photo, clock) for _ in range(args.repeat)]
                       for name, clock in (("CPU time", time.process_time), ("wall time", time.perf_counter))}  # fmt: skip
        finally:
            stop.set()
            for spinner in spinners:
                spinner.join()
        for name, values in figures.items():
            median = float(np.median(values))
            base.setdefault(name, median)
            rows.append({"busy processes": load, "clock": name, "host s / image": median,
                         "spread": f"{min(values):.3f}-{max(values):.3f}", "x unloaded": median / base[name]})  # fmt: skip
    print(table(rows, ["busy processes", "clock", "host s / image", "spread", "x unloaded"]))


if __name__ == "__main__":
    main()
