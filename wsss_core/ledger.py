"""Settings ledgers: for a paper config, every setting that shapes what is trained and scored, with where it comes from.

A ledger (``configs/ledgers/<config>.yaml``) holds one entry per setting::

    train.lr:                      # every trained stage, unless an entry names the stage
      value: 0.001
      stated: "Sec. 4.1.3: initial learning rate 0.001"
    retrain.train.epochs:          # one stage
      value: 15
      stated: "Sec. 3.5: re-trained for 15 epochs"
    train.momentum:
      value: 1.0e-05
      source: authors' code        # or: common practice, our choice
      evidence: "AuxSegNet tool/torchutils.py:37: SGD(params, lr, weight_decay) ..."
      alternative: "0.9 with weight_decay 0.0005, the usual SGD (measured: STUDY.md)"

An entry either says where the paper states it (``stated``) or gives the
``source`` of a setting the paper leaves open with its ``evidence``. A ledger
may ``extends`` another of the same paper: it holds only the entries that differ.
:func:`ledger_problems` resolves the config through the workflow's own
layering and names every setting whose effective value differs from its
entry and every setting without one (:func:`ledger_keys`: each trained
stage's training settings and the method's settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from wsss_core.config_layers import STAGE_SECTIONS, lookup, read_yaml, run_stages

SOURCES = ("authors' code", "common practice", "our choice")

# The settings a ledger accounts for, beyond each trained stage's training settings: what shapes
# the networks, the pseudo labels and the scores (not where files are or how fast jobs run).
SHARED_KEYS = (
    "inference.scales", "inference.flip", "inference.max_side", "crf.postprocess", "crf.label_epsilon",
    "dataset.train_split", "dataset.eval_split",
)  # fmt: skip
# the network of CTLR and of SONet's CAMs (the classifier)
MODEL_KEYS = (
    "model.backbone", "model.backbone_options", "model.decoder_channels", "model.atrous_rates",
    "model.decoder_cascade", "model.decoder_batch_norm", "model.classifier_dropout", "model.classifier_bias",
    "model.head_init",
)  # fmt: skip
CTLR_KEYS = (
    "guidance.method", "guidance.dir", "labels.pcam_fg_threshold", "labels.saliency_fg_threshold",
    "labels.scam_fg_threshold", "loss_weights", "crf.class_agnostic", "joint.init", "joint.ca_refresh_every",
    "joint.ca_refresh_prediction", "joint.ca_refresh_overlap", "joint.ca_refresh_crf", "joint.ca_labels", "retrain.init",
    "retrain.ca_refresh_every", "ctlr.prediction_variant",
)  # fmt: skip
SONET_KEYS = (
    "supervision", "guidance.method", "guidance.objectness_setting", "objectness.source_kind", "objectness.source_split",
    "objectness.class_map", "objectness.arch", "objectness.backbone_weights", "sonet.delta", "sonet.cam_threshold",
    "sonet.objectness_threshold", "sonet.alpha", "sonet.inner_fraction", "sonet.arch", "sonet.backbone_weights",
    "sonet.objectness_width", "sonet.feature_stride", "sonet.sdi_inner_fraction", "sonet.saliency_dir",
)  # fmt: skip
CROSS_DATASET_KEYS = ("eval_dataset.kind", "eval_dataset.train_split", "eval_dataset.eval_split", "finetune.kinds")


def ledger_keys(config: Mapping[str, Any]) -> list[str]:
    """The non-stage settings a ledger of ``config`` must account for."""
    keys = list(MODEL_KEYS if "classifier" in run_stages(config) else ()) + list(SHARED_KEYS)
    keys += CTLR_KEYS if config["method"] == "ctlr" else SONET_KEYS
    if config["eval_dataset"]["kind"] is not None:
        keys += CROSS_DATASET_KEYS
    return list(dict.fromkeys(keys))


def effective_values(config: Mapping[str, Any]) -> dict[str, Any]:
    """{key: effective value} of every setting a ledger of the merged ``config`` accounts for: ``<stage>.train.<key>``
    of each trained stage as its training rule receives it (the shared section overlaid with the stage's, which
    ``resolve_stages`` has completed), then the method's settings."""
    values = {}
    for stage in run_stages(config):
        for key, value in {**config["train"], **lookup(config, STAGE_SECTIONS[stage][-1])}.items():
            values[f"{stage}.train.{key}"] = value
    return values | {key: lookup(config, key) for key in ledger_keys(config)}


def entry_for(ledger: Mapping[str, Any], key: str) -> tuple[str, Mapping[str, Any]] | None:
    """(entry key, entry) that accounts for ``key``: its own, or for ``<stage>.train.<k>`` the shared ``train.<k>``."""
    settings = ledger["settings"]
    if key in settings:
        return key, settings[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[1] == "train" and f"train.{parts[2]}" in settings:
        return f"train.{parts[2]}", settings[f"train.{parts[2]}"]
    return None


def _entry_problems(key: str, entry: Any) -> list[str]:
    if not isinstance(entry, Mapping) or "value" not in entry:
        return [f"{key}: an entry needs a value"]
    if ("stated" in entry) == ("source" in entry):
        return [f"{key}: an entry says where the paper states it (stated) or where it comes from (source), one of them"]
    if "source" in entry and (entry["source"] not in SOURCES or not entry.get("evidence")):
        return [f"{key}: source is one of {', '.join(SOURCES)}, with its evidence"]
    return []


def ledger_problems(ledger: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """Every setting of the merged ``config`` whose effective value differs from its ledger entry or has none, and every
    malformed entry."""
    problems = [line for key, entry in ledger["settings"].items() for line in _entry_problems(key, entry)]
    for key, value in effective_values(config).items():
        found = entry_for(ledger, key)
        if found is None:
            problems.append(f"{key}: no ledger entry (effective value {value!r})")
        elif found[1].get("value") != value:
            problems.append(f"{key}: effective value {value!r}, ledger {found[1].get('value')!r} ({found[0]})")
    used = used_entries(ledger, config)
    own = [key for key in ledger.get("own", ledger["settings"]) if key in ledger["settings"]]  # not those it extends
    problems += [f"{key}: a ledger entry for no setting of this config" for key in own if key not in used]
    return problems


def used_entries(ledger: Mapping[str, Any], config: Mapping[str, Any]) -> set[str]:
    """The keys of the entries that account for a setting of the merged ``config``."""
    return {found[0] for key in effective_values(config) if (found := entry_for(ledger, key)) is not None}


def read_ledger(path: str | Path) -> dict[str, Any]:
    """A ledger file, with the entries of the ledger it ``extends`` (a file beside it) where it has none of its own."""
    ledger = read_yaml(path)
    ledger["own"] = list(ledger.get("settings") or {})
    if "extends" in ledger:
        base = read_ledger(Path(path).parent / ledger["extends"])
        ledger["settings"] = {**base["settings"], **(ledger.get("settings") or {})}
    return ledger


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) or "{}"
    return str(value)


def _where(entry: Mapping[str, Any]) -> str:
    if "stated" in entry:
        return f"stated: {entry['stated']}"
    text = f"{entry['source']}: {entry['evidence']}"
    return text + (f" (alternative: {entry['alternative']})" if entry.get("alternative") else "")


def ledger_table(ledgers: Mapping[str, Mapping[str, Any]], used: Mapping[str, set[str]] | None = None) -> list[str]:
    """One Markdown table of the ledgers of one paper's configs ({config name: ledger}): a row per setting, a value
    column per config, and where each value comes from. ``used`` ({config name: :func:`used_entries`}) leaves out
    the entries a config inherits and does not use."""
    names = list(ledgers)
    if used is not None:
        ledgers = {name: {**ledger, "settings": {k: v for k, v in ledger["settings"].items() if k in used[name]}} for name, ledger in ledgers.items()}
    keys = list(dict.fromkeys(key for ledger in ledgers.values() for key in ledger["settings"]))
    escape = lambda text: text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
    lines = ["| setting | " + " | ".join(f"`{name}`" for name in names) + " | where it comes from |", "|---" * (len(names) + 2) + "|"]
    for key in keys:
        entries = {name: ledgers[name]["settings"].get(key) for name in names}
        values = [escape(_text(entry["value"])) if entry else "-" for entry in entries.values()]
        wheres = list(dict.fromkeys(_where(entry) for entry in entries.values() if entry))
        where = wheres[0] if len(wheres) == 1 else "; ".join(f"{name}: {_where(entry)}" for name, entry in entries.items() if entry)
        lines.append(f"| `{key}` | " + " | ".join(values) + f" | {escape(where)} |")
    return lines


PAPERS = {"CTLR": "CTLR (Xu et al., Neural Computing and Applications 2023)", "SONet": "SONet (Islam et al., BMVC 2021)"}


def settings_tables(ledgers: Mapping[str, Mapping[str, Any]], used: Mapping[str, set[str]] | None = None) -> list[str]:
    """A section per paper ({config name: ledger}, grouped by the ledgers' ``paper``, :data:`PAPERS` first):
    a heading and its :func:`ledger_table`, a ledger's column after that of the one it extends."""
    lines: list[str] = []
    papers = sorted(dict.fromkeys(ledger["paper"] for ledger in ledgers.values()), key=lambda p: (p not in PAPERS, list(PAPERS).index(p) if p in PAPERS else 0))
    for paper in papers:
        names = sorted((name for name, ledger in ledgers.items() if ledger["paper"] == paper), key=lambda n: ("extends" in ledgers[n], n))
        lines += [f"## {PAPERS.get(paper, paper)}", "", *ledger_table({name: ledgers[name] for name in names}, used), ""]
    return lines
