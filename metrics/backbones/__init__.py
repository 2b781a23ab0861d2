"""Embedding networks behind the metrics, each with its front end and weights spec.

Heavy backbones are imported lazily: ``from v2abench.metrics.backbones import build_backbone``.
"""

from __future__ import annotations

import importlib

from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput

AUDIO_BACKBONES: dict[str, str] = {
    "vggish": "v2abench.metrics.backbones.vggish:VGGishBackbone",
    "panns": "v2abench.metrics.backbones.panns:PannsBackbone",
    "passt": "v2abench.metrics.backbones.passt:PasstBackbone",
    "resemblyzer": "v2abench.metrics.backbones.resemblyzer_backbone:ResemblyzerBackbone",
    "laion": "v2abench.metrics.backbones.clap:ClapBackbone",
    "imagebind": "v2abench.metrics.backbones.imagebind:ImageBindBackbone",
}


def build_backbone(name: str, **options: object) -> AudioBackbone:
    """Construct backbone ``name`` (weights from the registry, or ``random_init=True``)."""
    if name not in AUDIO_BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; known: {', '.join(AUDIO_BACKBONES)}")
    module, _, attr = AUDIO_BACKBONES[name].partition(":")
    return getattr(importlib.import_module(module), attr)(**options)


__all__ = ["AudioBackbone", "BackboneOutput", "AUDIO_BACKBONES", "build_backbone"]
