"""The inference settings of the run a checkpoint belongs to: what ``wsss predict`` uses unless told otherwise.

A run stores its merged configuration as ``results/<run>/config.yaml`` when it
starts; a checkpoint ``results/<run>/checkpoints/<stage>.pt`` finds it two
directories up. From it come the scales and flip of the multi-scale inference
(Sec. 4.3.4), ``max_side``, and the dense CRF of the test-time post-processing
(``crf.postprocess``, ``crf.label_epsilon``), as the run's ``ms_crf`` rows use them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from wsss_core.crf import DEEPLAB_CRF, LABEL_EPSILON, CrfParams
from wsss_core.io import atomic_path

RUN_CONFIG = "config.yaml"
log = logging.getLogger("wsss.predict")


@dataclass(frozen=True)
class PredictSettings:
    """Scales and flip of the multi-scale inference, ``max_side``, and the CRF (None: the argmax) with its label epsilon."""

    scales: tuple[float, ...]
    flip: bool
    max_side: int | None
    crf: CrfParams | None
    label_epsilon: float
    source: str  # the run configuration they come from, or "defaults"


# Without a run configuration: one scale, flipped, no CRF (the settings of a quick look).
FALLBACK = {"inference": {"scales": [1.0], "flip": True, "max_side": None}, "crf": {"postprocess": None, "label_epsilon": LABEL_EPSILON}}


def run_config_path(checkpoint: str | Path) -> Path:
    """``results/<run>/config.yaml`` of the checkpoint ``results/<run>/checkpoints/<stage>.pt``, or of
    ``results/<run>/seed_<s>/checkpoints/<stage>.pt`` (a run over seeds)."""
    run_dir = Path(checkpoint).resolve().parent.parent
    if run_dir.name.startswith("seed_") and not (run_dir / RUN_CONFIG).is_file():
        run_dir = run_dir.parent
    return run_dir / RUN_CONFIG


def write_run_config(config: Mapping[str, Any], run_dir: str | Path) -> Path:
    """Store a run's merged configuration as ``<run_dir>/config.yaml`` (atomically); returns its path."""
    path = Path(run_dir) / RUN_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return path


def predict_settings(
    checkpoint: str | Path,
    *,
    scales: Sequence[float] | None = None,
    flip: bool | None = None,
    max_side: int | None = None,
    crf: bool | None = None,
) -> PredictSettings:
    """The run's inference settings for ``checkpoint``, each overridden where given (not None).

    Without the run's ``config.yaml`` (a checkpoint copied elsewhere) the
    fallback is one scale, flipped, without CRF; ``crf=True`` then uses the
    library's DeepLab CRF and label epsilon (``DEEPLAB_CRF``, ``LABEL_EPSILON``:
    the defaults of ``crf.postprocess`` and ``crf.label_epsilon``).
    """
    path = run_config_path(checkpoint)
    if path.is_file():
        config, source = yaml.safe_load(path.read_text()), str(path)
    else:
        config, source = FALLBACK, "defaults"
        log.warning("%s: no run configuration at %s; using one scale, flip, no CRF unless told otherwise", checkpoint, path)
    inference, crf_config = config["inference"], config["crf"]
    use_crf = crf if crf is not None else crf_config["postprocess"] is not None
    postprocess = crf_config["postprocess"]
    return PredictSettings(
        scales=tuple(scales if scales is not None else inference["scales"]),
        flip=flip if flip is not None else inference["flip"],
        max_side=max_side if max_side is not None else inference["max_side"],
        crf=(CrfParams(**postprocess) if postprocess else DEEPLAB_CRF) if use_crf else None,
        label_epsilon=crf_config["label_epsilon"],
        source=source,
    )

