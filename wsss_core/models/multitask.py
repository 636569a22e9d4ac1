"""The weakly supervised multi-task network of Sec. 3.2.

One backbone (output stride 8) feeds three branches:

* classification: global average pooling + fc, giving the class logits Pr_cls
  (and, through the fc weights, the CAMs of Eq. 1); optionally with dropout on
  the features and no bias (``classifier_dropout``, ``classifier_bias``: the
  Dropout2d(0.5) and bias-free 1x1 conv of psa's and AuxSegNet's code);
* class-agnostic (CA): atrous cascade (rates 6/12/18) + 1x1 conv + sigmoid, Pr_ca;
* semantic segmentation (SS): atrous cascade + 1x1 conv + softmax over
  background and the C classes, Pr_seg.

``head_init``: ``default`` (torch's initialisation) or ``xavier`` (Xavier-uniform
weights of the fc and the decoders' convolutions, as AuxSegNet initialises them).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from torch import Tensor, nn

from wsss_core.models.backbones import build_backbone
from wsss_core.models.heads import AtrousCascadeDecoder

BRANCHES = ("cls", "ca", "seg")
HEAD_INITS = ("default", "xavier")


class MultiTaskNet(nn.Module):
    """Backbone + classification, class-agnostic and semantic branches."""

    def __init__(
        self,
        num_classes: int,
        backbone: str = "tiny",
        backbone_options: dict[str, Any] | None = None,
        decoder_channels: int = 64,
        atrous_rates: Sequence[int] = (6, 12, 18),
        decoder_cascade: str = "dense",
        decoder_batch_norm: bool = True,
        classifier_dropout: float = 0.0,
        classifier_bias: bool = True,
        head_init: str = "default",
    ) -> None:
        super().__init__()
        if head_init not in HEAD_INITS:
            raise ValueError(f"unknown head_init {head_init!r}; available: {HEAD_INITS}")
        self.num_classes = num_classes
        self.model_config: dict[str, Any] = {}  # filled by build_model, saved in checkpoints
        self.backbone = build_backbone(backbone, **(backbone_options or {}))
        channels = self.backbone.out_channels
        self.classifier_dropout = nn.Dropout2d(classifier_dropout)
        self.classifier = nn.Linear(channels, num_classes, bias=classifier_bias)
        decoder = {"cascade": decoder_cascade, "batch_norm": decoder_batch_norm}
        self.ca_decoder = AtrousCascadeDecoder(channels, decoder_channels, 1, atrous_rates, **decoder)
        self.seg_decoder = AtrousCascadeDecoder(channels, decoder_channels, num_classes + 1, atrous_rates, **decoder)
        if head_init == "xavier":
            for module in (self.classifier, *self.ca_decoder.modules(), *self.seg_decoder.modules()):
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(module.weight)

    def forward(self, images: Tensor, branches: Iterable[str] = BRANCHES) -> dict[str, Tensor]:
        """Run the backbone and the requested branches.

        Returns a dict with ``features`` (B,K,h,w) and, per branch requested,
        ``cls_logits`` (B,C), ``ca_logits`` (B,1,h,w), ``seg_logits`` (B,C+1,h,w).
        """
        branches = set(branches)
        unknown = branches - set(BRANCHES)
        if unknown:
            raise ValueError(f"unknown branch(es) {sorted(unknown)}; available: {BRANCHES}")
        features = self.backbone(images)
        out = {"features": features}
        if "cls" in branches:
            out["cls_logits"] = self.classifier(self.classifier_dropout(features).mean(dim=(2, 3)))
        if "ca" in branches:
            out["ca_logits"] = self.ca_decoder(features)
        if "seg" in branches:
            out["seg_logits"] = self.seg_decoder(features)
        return out

    def branch_modules(self, branch: str) -> list[nn.Module]:
        """Modules that belong to ``branch`` (the backbone is shared, listed under none)."""
        return {"cls": [self.classifier], "ca": [self.ca_decoder], "seg": [self.seg_decoder]}[branch]


def build_model(model_config: dict[str, Any], *, pretrained: bool = True) -> MultiTaskNet:
    """Build a :class:`MultiTaskNet` from the ``model`` section of the config plus ``num_classes``.

    With ``pretrained=False`` the backbone's ``weights`` option is not loaded:
    the caller is about to load a checkpoint's full state anyway, which must
    not depend on the ImageNet file still being where it was at training time.
    """
    normalised = {
        "num_classes": int(model_config["num_classes"]),
        "backbone": str(model_config.get("backbone", "tiny")),
        "backbone_options": dict(model_config.get("backbone_options") or {}),
        "decoder_channels": int(model_config.get("decoder_channels", 64)),
        "atrous_rates": [int(rate) for rate in model_config.get("atrous_rates", (6, 12, 18))],
        "decoder_cascade": str(model_config.get("decoder_cascade", "dense")),
        "decoder_batch_norm": bool(model_config.get("decoder_batch_norm", True)),
        "classifier_dropout": float(model_config.get("classifier_dropout", 0.0)),
        "classifier_bias": bool(model_config.get("classifier_bias", True)),
        "head_init": str(model_config.get("head_init", "default")),
    }
    options = normalised["backbone_options"] if pretrained else {
        key: value for key, value in normalised["backbone_options"].items() if key != "weights"
    }
    model = MultiTaskNet(**{**normalised, "backbone_options": options})
    model.model_config = normalised
    return model
