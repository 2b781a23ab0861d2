"""Evaluation probes: networks the suite trains itself to score generated audio where no pretrained
backbone exists. ``synthprobe`` (SynthFoley) is trained on the ``probe`` split only and backs every
``@synthprobe`` metric (see :mod:`v2abench.metrics.synthprobe_metrics`)."""

from v2abench.probes.load import load_synthprobe, random_synthprobe, shipped_asset
from v2abench.probes.synthprobe import SynthProbe, SynthProbeConfig

__all__ = ["SynthProbe", "SynthProbeConfig", "load_synthprobe", "random_synthprobe", "shipped_asset"]
