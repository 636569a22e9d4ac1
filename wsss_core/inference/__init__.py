"""Inference of trained networks: whole-image forward passes, multi-scale + flip prediction, CRF post-processing."""
