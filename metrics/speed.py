"""Generation speed (PROTOCOL.md "Speed"): seconds per clip, network evaluations, real-time factor.

``sec_per_clip`` is the wall clock of ``generate`` divided by the clips in the call (the runner's
batch); ``rtf`` = generation seconds / seconds of audio produced (below 1 is faster than real time);
``params`` is recorded from the generator's metadata by the runner. Clips read back from the
generation cache carry the timing measured when they were generated. A folder of audio
(``eval --audio-dir``) has no timing; its speed metrics are not computed.
"""

from __future__ import annotations

import numpy as np

from v2abench.metrics.base import ClipSample, Direction, MetricFamily, MetricResult, MetricSpec, by_clip
from v2abench.metrics.bootstrap import mean_interval


class SpeedMetrics(MetricFamily):
    per_clip_state = ("seconds", "nfe", "audio_seconds")
    specs = (
        MetricSpec("sec_per_clip", Direction.LOWER, unit="s", description="wall clock per generated clip"),
        MetricSpec("nfe", Direction.LOWER, description="network evaluations per clip"),
        MetricSpec("rtf", Direction.LOWER, description="generation time / audio duration"),
    )

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.seconds: dict[str, float] = {}  # per clip id
        self.nfe: dict[str, float] = {}
        self.audio_seconds: dict[str, float] = {}

    def update(self, sample: ClipSample) -> None:
        if sample.seconds is None:
            self.drop(sample.id, "no generation timing (audio read from a folder)")
            return
        self.seconds[sample.id] = float(sample.seconds)
        self.nfe[sample.id] = float(sample.nfe or 0)
        self.audio_seconds[sample.id] = sample.generated.numel() / sample.generated_rate

    def compute(self) -> list[MetricResult]:
        n = len(self.seconds)
        if n == 0:
            return [self.result(i, None, 0) for i in self.ids]
        sec, nfe, dur = (np.array(by_clip(v), np.float64) for v in (self.seconds, self.nfe, self.audio_seconds))
        rtf = sec / np.maximum(dur, 1e-9)
        reps, seed = self.bootstrap_resamples, self.bootstrap_seed
        return [
            self.result("sec_per_clip", float(sec.mean()), n, interval=mean_interval(sec, reps, seed)),
            self.result("nfe", float(nfe.mean()), n),
            self.result("rtf", float(rtf.mean()), n, interval=mean_interval(rtf, reps, seed)),
        ]
