"""Datasets: the index layout every stage reads, the VOC / COCO indexers, the generated demo dataset, transforms."""
