"""Evaluation: the scores of Sec. 4.1.2, the metric tables of the rules, the PASCAL VOC test-server export."""
