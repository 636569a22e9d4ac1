"""The guidance map Pt_sal every fusion reads: saliency backends (classical, precomputed, ONNX) and the map store.

A guidance store is one 8-bit grayscale ``<id>.png`` per image (0..255 for
[0, 1]), the size of its image. The objectness maps of SONet
(:mod:`wsss_core.sonet.objectness`) are written in the same format.
"""
