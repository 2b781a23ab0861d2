"""v2abench: a comparative benchmark suite for video-to-audio (V2A) generation.

One generator interface (:mod:`v2abench.interface`), one registry (:mod:`v2abench.registry`), the
SynthFoley embedded world (:mod:`v2abench.data.synthfoley`), metrics (:mod:`v2abench.metrics`) and
versioned leaderboards (:mod:`v2abench.boards`).
"""

__version__ = "0.1.0"
