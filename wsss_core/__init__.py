"""wsss_core: the library behind the wsss-flow pipeline.

Weakly-supervised semantic segmentation from image-level labels: CAM / sCAM /
pCAM (Eq. 1-3), saliency-guided initial pseudo labels, a three-branch network
(classification, class-agnostic, semantic), cross-task label refinement
(CTLR, Eq. 4-7), multi-scale + CRF inference and metrics.

The package knows nothing of Snakemake; every stage is a plain function that
takes paths and parameters.
"""

__version__ = "0.1.0"
