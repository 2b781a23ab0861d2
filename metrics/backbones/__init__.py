"""Embedding networks behind the metrics, each with its front end and weights spec."""

from v2abench.metrics.backbones.base import AudioBackbone, BackboneOutput

__all__ = ["AudioBackbone", "BackboneOutput"]
