"""The price of a run before it starts (``wsss doctor``): per-image costs, the rules of its DAG, time and memory.

:mod:`~wsss_core.cost.gpus` holds the GPUs' peak figures,
:mod:`~wsss_core.cost.sizes` the images of the run's splits,
:mod:`~wsss_core.cost.measure` what one image costs (FLOPs and memory of the
networks, host seconds timed on this machine), :mod:`~wsss_core.cost.plan`
the rules the targets run and their estimated minutes and memory.
"""
