"""The networks (backbones, heads, the multi-task network, SONet, the objectness network) and their checkpoints."""

from wsss_core.models.checkpoint import load_model
from wsss_core.models.multitask import MultiTaskNet, build_model

__all__ = ["MultiTaskNet", "build_model", "load_model"]
