"""CTLR: class-agnostic masks and cross-task label refinement, in the order of its DAG.

training (Fig. 5a classifier) -> cams (Eq. 1-3) -> initial_labels (Sec. 3.4.1; thresholds: their sweep, Table 6)
-> joint (Fig. 5b, with ca_labels: Eq. 4 online, predicted as refresh says) -> refine (Eq. 5-7)
-> joint again as retraining (Fig. 5d).
"""
