"""The training engine: one loop for every stage, knowing no method.

A stage hands :func:`wsss_core.engine.fit.fit` a network, a dataset and a loss
callback; the engine supplies the optimiser and poly schedule, device
placement and mixed precision, resume state, the per-epoch log and, under
torchrun, DistributedDataParallel.
"""
