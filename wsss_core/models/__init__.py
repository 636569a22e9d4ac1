"""Backbones, decoder heads and the three-branch multi-task network (Sec. 3.2)."""

from wsss_core.models.multitask import MultiTaskNet, build_model, load_model

__all__ = ["MultiTaskNet", "build_model", "load_model"]
