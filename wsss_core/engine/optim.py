"""SGD with per-group learning rates and the poly schedule lr x (1 - it / max_it) ^ power."""

from __future__ import annotations

import torch
from torch import nn

from wsss_core.engine.config import TrainConfig


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with the ``backbone`` submodule at ``lr`` and every other trainable parameter at ``lr * head_lr_mult``."""
    backbone = [p for p in model.backbone.parameters() if p.requires_grad]
    heads = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("backbone.")]
    groups = [{"params": backbone, "lr": config.lr}]
    if heads:
        groups.append({"params": heads, "lr": config.lr * config.head_lr_mult})
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def poly_schedule(optimizer: torch.optim.Optimizer, max_iterations: int, power: float) -> torch.optim.lr_scheduler.LambdaLR:
    """The poly schedule, stepped once per iteration: step ``it`` trains at ``initial_lr * (1 - it / max_iterations) ** power``.

    torch's ``PolynomialLR`` computes the same curve by a running product,
    whose rounding drifts from this closed form; ``LambdaLR`` evaluates the
    closed form at every step, so a resumed run repeats an uninterrupted one
    bit for bit.
    """
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda iteration: (1.0 - iteration / max_iterations) ** power)
