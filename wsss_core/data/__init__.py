"""Datasets, image / label-map input-output and the generated demo dataset."""
