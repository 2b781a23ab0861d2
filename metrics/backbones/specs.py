"""Weights of the metric backbones (entries of the weights registry, :mod:`v2abench.weights`)."""

from __future__ import annotations

from v2abench.weights_spec import WeightsSpec

BACKBONE_WEIGHTS: tuple[WeightsSpec, ...] = ()
