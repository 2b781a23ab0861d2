"""Onset metrics (CondFoleyGen protocol, PROTOCOL.md "Onset metrics").

Detection: audio resampled to 22 050 Hz, ``librosa.onset.onset_strength`` (hop 512) and
``librosa.onset.onset_detect(delta=0.3)``; the confidence of an onset is its value in the per-clip
normalised onset envelope (librosa's normalisation, in [0, 1]). Generated onsets pass a greedy
non-maximum suppression by confidence within 0.05 s. Reference onsets are the world's true event
times on SynthFoley and detections on the reference audio elsewhere.

Matching: reference onsets in time order; each is *hit* by the most confident unused generated
onset within ``tolerance`` (0.1 s).

- ``onset_acc``  = sum of hits / sum of reference onsets over clips (pooled; clips without reference
  onsets add nothing);
- ``onset_ap``   = average precision of all generated onsets pooled over clips, ranked by confidence,
  a detection being a true positive when it hit a reference onset; recall is over all reference
  onsets, so missed onsets lower it: AP = sum over true positives of precision@k / #reference onsets;
- ``onset_count_acc`` = share of clips whose generated onset count equals the reference count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from v2abench.metrics.base import ClipSample, Direction, MetricFamily, MetricResult, MetricSpec, PooledTerms, by_clip
from v2abench.metrics.bootstrap import mean_interval, ratio_interval, statistic_interval

ONSET_RATE = 22_050
HOP = 512
DELTA = 0.3
NMS_WINDOW = 0.05
TOLERANCE = 0.1


@dataclass(frozen=True)
class Onsets:
    times: np.ndarray  # seconds, ascending
    strengths: np.ndarray  # confidence in [0, 1]


def detect_onsets(audio: torch.Tensor | np.ndarray, sample_rate: int) -> Onsets:
    """Onsets of mono audio ``[N]`` (librosa, 22.05 kHz, hop 512, delta 0.3)."""
    import librosa

    y = audio.detach().cpu().double().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio, np.float64)
    y = y.reshape(-1)
    if sample_rate != ONSET_RATE:
        y = librosa.resample(y, orig_sr=sample_rate, target_sr=ONSET_RATE)
    if y.size < 2 * HOP or not np.any(y):
        return Onsets(np.zeros(0), np.zeros(0))
    env = librosa.onset.onset_strength(y=y, sr=ONSET_RATE, hop_length=HOP)
    span = env.max() - env.min()
    norm = (env - env.min()) / span if span > 0 else np.zeros_like(env)
    frames = librosa.onset.onset_detect(onset_envelope=env, sr=ONSET_RATE, hop_length=HOP, delta=DELTA, units="frames")
    times = librosa.frames_to_time(frames, sr=ONSET_RATE, hop_length=HOP)
    return Onsets(np.asarray(times, np.float64), np.asarray(norm[frames], np.float64))


def non_max_suppression(onsets: Onsets, window: float = NMS_WINDOW) -> Onsets:
    """Greedy NMS: keep the most confident onset, drop others within ``window`` s of a kept one."""
    order = np.argsort(-onsets.strengths, kind="stable")
    kept: list[int] = []
    for i in order:
        if all(abs(onsets.times[i] - onsets.times[j]) > window for j in kept):
            kept.append(int(i))
    kept.sort(key=lambda i: onsets.times[i])
    return Onsets(onsets.times[kept], onsets.strengths[kept])


def match_onsets(reference: np.ndarray, generated: Onsets, tolerance: float = TOLERANCE) -> np.ndarray:
    """Boolean mask over generated onsets: True where the onset hit a reference onset."""
    used = np.zeros(generated.times.size, dtype=bool)
    for ref in np.sort(np.asarray(reference, np.float64)):
        near = np.flatnonzero((~used) & (np.abs(generated.times - ref) <= tolerance))
        if near.size:
            used[near[np.argmax(generated.strengths[near])]] = True
    return used


def average_precision(confidences: np.ndarray, true_positive: np.ndarray, n_positive: int) -> float | None:
    """AP over ranked detections, recall relative to ``n_positive`` reference onsets."""
    if n_positive == 0:
        return None
    order = np.argsort(-confidences, kind="stable")
    tp = true_positive[order].astype(np.float64)
    precision_at_k = np.cumsum(tp) / np.arange(1, tp.size + 1)
    return float((precision_at_k * tp).sum() / n_positive)


class OnsetMetrics(MetricFamily):
    per_clip_state = ("hits", "n_ref", "count_ok", "confidences", "true_pos")
    specs = (
        MetricSpec("onset_acc", Direction.HIGHER, unit="%", description="reference onsets hit within 0.1 s"),
        MetricSpec("onset_ap", Direction.HIGHER, unit="%", description="average precision of generated onsets"),
        MetricSpec("onset_count_acc", Direction.HIGHER, unit="%", description="clips with the right onset count"),
    )

    def __init__(self, tolerance: float = TOLERANCE, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.tolerance = tolerance
        # per clip id: reference onsets hit, reference onsets, count agrees (0/1), generated onsets'
        # confidences and whether each hit
        self.hits: dict[str, int] = {}
        self.n_ref: dict[str, int] = {}
        self.count_ok: dict[str, float] = {}
        self.confidences: dict[str, np.ndarray] = {}
        self.true_pos: dict[str, np.ndarray] = {}

    def update(self, sample: ClipSample) -> None:
        n = int(round(sample.duration * sample.generated_rate))
        generated = non_max_suppression(detect_onsets(sample.generated[:n], sample.generated_rate))
        if sample.onsets is not None:
            reference = np.asarray(sample.onsets, np.float64)
        elif sample.reference is not None and sample.reference_rate:
            m = int(round(sample.duration * sample.reference_rate))
            reference = detect_onsets(sample.reference[:m], sample.reference_rate).times
        else:
            self.drop(sample.id, "no reference onsets and no reference audio")
            return
        hit = match_onsets(reference, generated, self.tolerance)
        self.hits[sample.id] = int(hit.sum())
        self.n_ref[sample.id] = int(reference.size)
        self.count_ok[sample.id] = float(generated.times.size == reference.size)
        self.confidences[sample.id] = generated.strengths
        self.true_pos[sample.id] = hit

    def compute(self) -> list[MetricResult]:
        n = len(self.hits)
        seed, reps = self.bootstrap_seed, self.bootstrap_resamples
        hits, refs = np.array(by_clip(self.hits), np.float64), np.array(by_clip(self.n_ref), np.float64)
        confidences, true_pos = by_clip(self.confidences), by_clip(self.true_pos)

        def pooled_ap(clips: np.ndarray) -> float:
            conf = np.concatenate([confidences[i] for i in clips]) if len(clips) else np.zeros(0)
            tp = np.concatenate([true_pos[i] for i in clips]) if len(clips) else np.zeros(0, bool)
            ap = average_precision(conf, tp, int(refs[clips].sum()))
            return float("nan") if ap is None else ap

        acc = float(hits.sum() / refs.sum()) if refs.sum() > 0 else None
        ap = pooled_ap(np.arange(n)) if n else float("nan")
        count = float(np.mean(by_clip(self.count_ok))) if n else None
        ratio_terms = {"numerator": {k: float(v) for k, v in sorted(self.hits.items())},
                       "denominator": {k: float(v) for k, v in sorted(self.n_ref.items())}}
        return [
            self.result("onset_acc", acc, n, interval=ratio_interval(hits, refs, reps, seed) if acc is not None else None,
                        per_clip=ratio_terms if acc is not None else None),
            self.result(
                "onset_ap",
                None if np.isnan(ap) else ap,
                n,
                interval=None if np.isnan(ap) else statistic_interval(n, pooled_ap, reps, seed),
                # detections and reference counts per clip, for paired significance on boards
                pooled=None if np.isnan(ap) else PooledTerms.collect(
                    "onsets", per_row={"confidence": self.confidences, "hit": self.true_pos}, per_clip={"n_ref": self.n_ref}),
            ),
            self.result("onset_count_acc", count, n, interval=mean_interval(np.array(by_clip(self.count_ok)), reps, seed),
                        per_clip=self.mean_terms(self.count_ok) if n else None),
        ]
