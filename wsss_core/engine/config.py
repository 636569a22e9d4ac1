"""The settings of one training stage (``train.*`` of the config, overlaid with the stage's own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser, schedule and augmentation of one training stage.

    The defaults are those of ``train:`` in config.yaml (a test keeps them equal).
    """

    epochs: int
    batch_size: int
    lr: float
    head_lr_mult: float = 10.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9
    crop_size: int = 112
    scale_range: tuple[float, float] = (0.9, 1.1)
    hflip: bool = True
    color_jitter: float = 0.1
    pad_label: str = "ignore"  # the label maps' crop padding: ignore (255) | background (0)
    num_workers: int | str = "auto"  # DataLoader processes; auto = the stage's CPU threads
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> "TrainConfig":
        """Build from a config mapping; unknown keys are an error."""
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}")
        values = dict(section)
        if "scale_range" in values:
            values["scale_range"] = tuple(float(v) for v in values["scale_range"])
        return cls(**values)
