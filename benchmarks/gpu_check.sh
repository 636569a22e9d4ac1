#!/usr/bin/env bash
# The GPU check of the performance work, in under 8 minutes on one GPU (see BENCHMARKS.md).
#
#   bash benchmarks/gpu_check.sh [--dry] [--run results/voc12_sample] [--dag]
#
# On a GPU machine without this project's environment: torch, torchvision, h5py, opencv and
# pandas come with the machine; wheels carried in benchmarks/wheels/ (pydensecrf2 for the
# train_joint part, snakemake for --dag) are installed from there, nothing is downloaded.
# Results go to $OUT (when set) or the working directory, as gpu_check.json.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d benchmarks/wheels ] && ls benchmarks/wheels/*.whl >/dev/null 2>&1; then
    python3 -m pip install --quiet --no-index --find-links benchmarks/wheels benchmarks/wheels/*.whl
fi
export PYTHONUNBUFFERED=1
exec timeout 480 python3 benchmarks/gpu_check.py --out "${OUT:-.}" "$@"
