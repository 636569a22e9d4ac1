"""SONet's paper tables on one dataset: Tables 1(a), 1(b), 2, 5(a), 5(b) and Fig. 3(c), rows named as in the paper.

The objectness-guidance paper (Islam et al., BMVC 2021) reports them on PASCAL
VOC 2012. Each table is a list of :class:`Row`: a network (SONet, SONet-O,
DeepLabv3 without the objectness branch, or the fully supervised DeepLabv3)
trained on one set of pseudo labels (a label kind and an objectness setting),
or, for the label tables, the pseudo labels themselves. :data:`MODEL_TABLES`
and :data:`LABEL_TABLES` say which; the workflow trains and scores what a table
names (rules/sonet_tables.smk) and :func:`write_paper_table` writes it with the paper's number beside each row (empty where the paper's
table gives none for that network: its Table 5 and Fig. 3(c) numbers are not
in its text, and its SONet-O of Table 2 is a DeepLabv2).

The paper's symbols: C_m (raw CAMs), G^Cm (Eq. 2), B (boxes), G^B (Eq. 3 without
the ignore strategy), G^B_ign (with it), a subscript dagger for the
non-overlapping objectness network, G^B_SDI for the boxes with SDI's ignore
region (Table 5b); "(saliency)" where a saliency map takes the place of O (Fig. 3c).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from wsss_core.evaluate.tables import model_rows, write_table
from wsss_core.io import InputError

OVERLAPPING, NON_OVERLAPPING, SALIENCY, NO_OBJECTNESS = "overlapping", "non_overlapping", "saliency", "none"
SYMBOLS = {
    "cam": "C_m",
    "cam_objectness": "G^Cm",
    "box": "B",
    "box_objectness": "G^B",
    "box_objectness_ignore": "G^B_ign",
    "box_objectness_sdi": "G^B_SDI",
}
NETWORKS = ("sonet", "deeplabv3", "supervised")


def paper_label_name(kind: str, setting: str) -> str:
    """The paper's symbol of a set of pseudo labels: G^Cm, G^Cm_dagger (non-overlapping objectness), G^Cm (saliency)."""
    symbol = SYMBOLS[kind]
    if setting == NON_OVERLAPPING:
        return f"{symbol}_dagger"
    return f"{symbol} (saliency)" if setting == SALIENCY else symbol


def label_set_name(kind: str, setting: str) -> str:
    """The name of a set of pseudo labels in the workflow's label tables: G^Cm (non-overlapping), G^Cm (saliency), C_m."""
    return SYMBOLS[kind] + ("" if setting == NO_OBJECTNESS else f" ({setting.replace('_', '-')})")


@dataclass(frozen=True)
class Row:
    """One row of a paper table: ``name`` (the paper's), a network trained on the labels ``label_kind`` / ``setting``
    (for ``network="supervised"``: on the ground truth), and the paper's mIoU on val and on test where it gives one."""

    name: str
    label_kind: str = ""
    setting: str = NO_OBJECTNESS
    network: str = "sonet"
    paper: float | None = None
    paper_test: float | None = None

    @property
    def model(self) -> str:
        """The workflow's name of the network (its checkpoint and prediction directories)."""
        return "sonet-supervised-none" if self.network == "supervised" else f"{self.network}-{self.label_kind}-{self.setting}"

    @property
    def labels(self) -> str:
        """What the network trained on, as the paper writes it (F: full supervision)."""
        return "F" if self.network == "supervised" else paper_label_name(self.label_kind, self.setting)


def _sonet(kind: str, setting: str, paper: float | None = None, name: str = "SONet", test: float | None = None) -> Row:
    return Row(name, kind, setting, "sonet", paper, test)


# Table 1(b): SONet on VOC12 val trained on each pseudo label of Table 1(a)
TABLE_1B = [
    _sonet("cam", NO_OBJECTNESS, 50.2),
    _sonet("cam_objectness", NON_OVERLAPPING, 65.3),
    _sonet("cam_objectness", OVERLAPPING, 70.5),
    _sonet("box", NO_OBJECTNESS, 54.6),
    _sonet("box_objectness", NON_OVERLAPPING, 67.9),
    _sonet("box_objectness", OVERLAPPING, 73.8),
]
MODEL_TABLES: dict[str, list[Row]] = {
    "table1b": TABLE_1B,
    # Table 2 (and the test column of Table 3): SONet with a DeepLabv3-ResNet101 from CAMs and from boxes, SONet-O
    # (the non-overlapping objectness; the paper's SONet-O is a DeepLabv2), the fully supervised DeepLabv3 (Sec. 3.2, Table 3)
    "table2": [
        _sonet("cam_objectness", NON_OVERLAPPING, name="SONet-O"),
        _sonet("cam_objectness", OVERLAPPING, 70.5, test=71.5),
        _sonet("box_objectness_ignore", OVERLAPPING, 74.8, test=76.0),
        Row("DeepLabv3", network="supervised", paper=77.2, paper_test=78.8),
    ],
    # Table 5(a): SONet against the same network without its objectness branch (DeepLabv3)
    "table5a": [
        Row("DeepLabv3", "cam_objectness", OVERLAPPING, "deeplabv3"),
        _sonet("cam_objectness", OVERLAPPING),
        Row("DeepLabv3", "box_objectness_ignore", OVERLAPPING, "deeplabv3"),
        _sonet("box_objectness_ignore", OVERLAPPING),
    ],
    # Table 5(b): SONet without an ignore strategy, with SDI's, with the paper's
    "table5b": [
        _sonet("box_objectness", OVERLAPPING, name="SONet, no ignore"),
        _sonet("box_objectness_sdi", OVERLAPPING, name="SONet, SDI's ignore"),
        _sonet("box_objectness_ignore", OVERLAPPING, name="SONet, our ignore"),
    ],
}
# Table 1(a): the pseudo labels on VOC12 train; Fig. 3(c): G^Cm and G^B with objectness against saliency
LABEL_TABLES: dict[str, list[tuple[str, str, float | None]]] = {
    "table1a": [
        ("cam", NO_OBJECTNESS, 48.3), ("cam_objectness", NON_OVERLAPPING, 63.5), ("cam_objectness", OVERLAPPING, 70.6),
        ("box", NO_OBJECTNESS, 60.2), ("box_objectness", NON_OVERLAPPING, 68.6), ("box_objectness", OVERLAPPING, 76.6),
    ],
    "fig3c": [
        (kind, setting, None) for kind in ("cam_objectness", "box_objectness") for setting in (SALIENCY, NON_OVERLAPPING, OVERLAPPING)
    ],
}  # fmt: skip


# Table 3's networks on this dataset's test split (target sonet_table3): SONet on G^Cm, G^B and G^B_ign, the fully
# supervised DeepLabv3 (the paper's O -> V and O + V rows come from configs/openimages_to_voc12_sonet.yaml)
TEST_ROWS = [
    _sonet("cam_objectness", OVERLAPPING), _sonet("box_objectness", OVERLAPPING), _sonet("box_objectness_ignore", OVERLAPPING),
    Row("DeepLabv3", network="supervised"),
]
TARGETS = {"sonet_table1": ["table1a", "table1b"], "sonet_table2": ["table2"], "sonet_table5": ["table5a", "table5b"],
           "sonet_fig3c": ["fig3c"]}  # fmt: skip


def table_models(tables: Sequence[str]) -> list[str]:
    """The networks the model ``tables`` name, each once, in order."""
    return [row.model for row in table_rows(tables)]


def table_rows(tables: Sequence[str]) -> list[Row]:
    """The rows of the model ``tables`` (each network once), in order."""
    rows = {row.model: row for table in tables if table in MODEL_TABLES for row in MODEL_TABLES[table]}
    return list(rows.values())


def table_label_sets(tables: Sequence[str]) -> list[tuple[str, str]]:
    """The (kind, setting) of every set of pseudo labels the ``tables`` score or train on, each once."""
    sets = [(kind, setting) for table in tables if table in LABEL_TABLES for kind, setting, _ in LABEL_TABLES[table]]
    sets += [(row.label_kind, row.setting) for row in table_rows(tables) if row.network != "supervised"]
    return list(dict.fromkeys(sets))


def model_frame(segmentation_csv: str | Path, table: str) -> pd.DataFrame:
    """Model table ``table``: per row, the paper's name and labels, the workflow's model, its mIoU per
    post-processing (``mIoU_<variant>`` from ``segmentation_csv``, a table of
    :func:`~wsss_core.evaluate.tables.evaluate_segmentation`), and the paper's val (Table 2: and test) mIoU."""
    rows = []
    for row in MODEL_TABLES[table]:
        scores = model_rows(segmentation_csv, row.model)
        record: dict[str, object] = {"row": row.name, "labels": row.labels, "model": row.model}
        record.update({f"mIoU_{variant}": miou for variant, miou in zip(scores["postprocessing"], scores["mIoU"])})
        record["paper"] = row.paper
        if table == "table2":
            record["paper_test"] = row.paper_test
        rows.append(record)
    return pd.DataFrame(rows)


def label_frame(labels_csv: str | Path, table: str) -> pd.DataFrame:
    """Label table ``table``: per row, the paper's symbol, the guidance map (objectness setting or saliency),
    mIoU and F1 of the labels (from ``labels_csv``, a pseudo-label table whose rows :func:`label_set_name`
    names) and the paper's mIoU."""
    scored = pd.read_csv(labels_csv).set_index("labels")
    rows = []
    for kind, setting, paper in LABEL_TABLES[table]:
        source = label_set_name(kind, setting)
        if source not in scored.index:
            raise InputError(f"{labels_csv}: no row {source!r} ({table} needs it)")
        rows.append({"labels": paper_label_name(kind, setting), "guidance": setting.replace("_", "-"),
                     "mIoU": scored.at[source, "mIoU"], "F1": scored.at[source, "F1"], "paper": paper})  # fmt: skip
    return pd.DataFrame(rows)


def write_paper_table(table: str, source_csv: str | Path, output_csv: str | Path) -> pd.DataFrame:
    """Write ``table`` from its source: the pseudo-label table of a label table, the evaluation table of a model table."""
    frame = label_frame(source_csv, table) if table in LABEL_TABLES else model_frame(source_csv, table)
    write_table(frame, output_csv)
    return frame
