"""Peak figures of the GPUs a run is priced for, from the vendors' data sheets.

``bf16_tflops`` is the dense bf16 tensor-core peak (no sparsity), what the
training and inference rules use under bf16 autocast; ``bandwidth_tbs`` the
memory bandwidth the torch CRF_d of the G_ca refresh is bound by.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuSpec:
    """A GPU model: its name, dense bf16 peak (TFLOP/s), memory (GiB) and memory bandwidth (TB/s)."""

    name: str
    bf16_tflops: float
    memory_gib: float
    bandwidth_tbs: float


GPUS: dict[str, GpuSpec] = {
    "h200": GpuSpec("NVIDIA H200 SXM", 989.4, 141.0, 4.8),
    "h100": GpuSpec("NVIDIA H100 SXM", 989.4, 80.0, 3.35),
    "h100-pcie": GpuSpec("NVIDIA H100 PCIe", 756.0, 80.0, 2.0),
    "a100": GpuSpec("NVIDIA A100 SXM 80GB", 312.0, 80.0, 2.04),
    "l40s": GpuSpec("NVIDIA L40S", 362.1, 48.0, 0.864),
    "a6000": GpuSpec("NVIDIA RTX A6000", 154.8, 48.0, 0.768),
    "rtx4090": GpuSpec("NVIDIA GeForce RTX 4090", 165.2, 24.0, 1.008),
}

# substrings of torch's device names, most specific first
_NAME_KEYS = (("H200", "h200"), ("H100 PCIe", "h100-pcie"), ("H100", "h100"), ("A100", "a100"), ("L40S", "l40s"),
              ("A6000", "a6000"), ("4090", "rtx4090"))  # fmt: skip


def gpu_spec(name: str) -> GpuSpec:
    """The spec of ``name``: a key of :data:`GPUS` (``h100``) or a device name as torch reports it."""
    if name.lower() in GPUS:
        return GPUS[name.lower()]
    for fragment, key in _NAME_KEYS:
        if fragment.lower() in name.lower():
            return GPUS[key]
    raise KeyError(f"no peak figures for GPU {name!r}; price the run for one of: {', '.join(GPUS)} (--gpu)")
