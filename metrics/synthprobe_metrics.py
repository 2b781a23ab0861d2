"""Every ``@synthprobe`` metric from one pass of the SynthFoley probe (PROTOCOL.md, "SynthFoley probes").

The same definitions as the real-backbone metrics, with :class:`~v2abench.probes.SynthProbe` as the
backbone (trained on the ``probe`` split only). Per clip, the generated audio, the reference audio
(when the clip has one), the reference video and the caption each go through the probe once
(audio and video features are cached by content, probe weights and settings):

- ``fd@synthprobe`` -- Fréchet distance between the 128-d clip embeddings of generated and reference
  audio over matched pairs (scipy ``sqrtm`` by default, ``fd_method="eig"`` for the symmetric
  variant); interval: 200 paired clip draws (one draw for both sets) with the ``eig`` trace-sqrt,
  percentile interval centred on the bias-corrected FD, extended to hold FD and clamped at 0
  (:func:`~v2abench.metrics.frechet.bootstrap_fd`);
- ``kad@synthprobe`` -- kernel audio distance x100 of the same embeddings, the paired U-statistic
  (interval: 200 paired draws at the full reference set's bandwidth, shifted by the bootstrap bias
  and clamped at 0); ``fad_inf@synthprobe`` -- FD extrapolated to infinite N, both sets subsampled with the same
  clips (interval: 50 paired draws). FD, KAD and FAD-inf values below 0 are clamped to 0 and noted
  in ``extra`` (:func:`~v2abench.metrics.embedding.distribution_results`);
- ``kl@synthprobe`` -- KL(reference || generated) of the softmax over the probe's 12 class logits,
  mean over pairs; ``is@synthprobe`` -- Inception score of the generated clips' class logits
  (seed 2020, splits of :data:`~v2abench.metrics.class_scores.IS_SPLIT_SIZE` clips, the policy
  :data:`~v2abench.metrics.class_scores.IS_POLICY`; interval bias-shifted);
- ``ib@synthprobe`` (IB-style) -- mean cosine(video embedding of the reference video, audio
  embedding of the generated audio), raw in [-1, 1] (boards show x100);
- ``clap@synthprobe`` (CLAP-style) -- mean cosine(text embedding of the caption, generated audio
  embedding); clips without a caption are dropped from it;
- ``clap_audio@synthprobe`` (CLAP_A-style) -- mean cosine(embedding of the conditioning audio the task
  gave, generated audio embedding): the style clip on ac_vta, the given prefix on fe (there the
  generated audio is the continuation only, so copying the prefix earns nothing); only clips with
  conditioning audio are scored, the others are dropped from it;
- ``desync@synthprobe`` (DeSync-style) -- mean ``|argmax offset|`` in seconds of the offset head over
  21 offsets from -1.0 to +1.0 s in 0.1 s steps, the whole clip as one window (lower is better);
- ``align_acc@synthprobe`` -- share of (reference video, generated audio) pairs with
  ``p(aligned) >= 0.5``, in [0, 1].

Video: frames at 25 fps as decoded for evaluation (other rates are resampled by nearest frame
time). When the frames last longer than the scored audio (test-fe scores only the continuation
after the given prefix), the *last* ``duration`` seconds of frames are used, so that video and audio
cover the same span. Audio at other rates is resampled to 16 kHz. Per-clip metrics carry 1000-resample
intervals; IS 200 (PROTOCOL.md, Statistics).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from v2abench.metrics.base import (
    ClipSample,
    Direction,
    MetricFamily,
    MetricResult,
    MetricSpec,
    PooledTerms,
    attach_pooled,
    by_clip,
)
from v2abench.metrics.bootstrap import mean_interval
from v2abench.metrics.class_scores import IS_SPLIT_SIZE, inception_score, inception_score_interval, kl_per_pair
from v2abench.metrics.embedding import audio_sha256, distribution_results

from v2abench.data.feature_cache import FeatureCache

log = logging.getLogger(__name__)

BACKBONE = "synthprobe"
SAMPLE_RATE = 16_000
FPS = 25.0
ALIGNED_THRESHOLD = 0.5

PAIRED_IDS = ("fd@synthprobe", "kad@synthprobe", "fad_inf@synthprobe", "kl@synthprobe")
VIDEO_IDS = ("ib@synthprobe", "desync@synthprobe", "align_acc@synthprobe")


def synthprobe_specs(weights_sha256: str | None = None) -> tuple[MetricSpec, ...]:
    """The specs of every ``@synthprobe`` id (``weights_sha256``: of the probe's .safetensors)."""
    sha = weights_sha256

    def spec(mid: str, direction: Direction, unit: str, description: str) -> MetricSpec:
        return MetricSpec(f"{mid}@{BACKBONE}", direction, BACKBONE, sha, unit=unit, description=description)

    return (
        spec("fd", Direction.LOWER, "", "Fréchet distance of probe audio embeddings"),
        spec("kad", Direction.LOWER, "", "kernel audio distance x100 of probe audio embeddings"),
        spec("fad_inf", Direction.LOWER, "", "FD extrapolated to infinite N"),
        spec("kl", Direction.LOWER, "nats", "KL(reference || generated) of probe class posteriors"),
        spec("is", Direction.HIGHER, "", "Inception score of probe class posteriors"),
        spec("ib", Direction.HIGHER, "cosine", "IB-style: cosine(reference video, generated audio) embeddings"),
        spec("clap", Direction.HIGHER, "cosine", "CLAP-style: cosine(caption, generated audio) embeddings"),
        spec("clap_audio", Direction.HIGHER, "cosine",
             "CLAP_A-style: cosine(conditioning audio: style clip / given prefix, generated audio) embeddings"),
        spec("desync", Direction.LOWER, "s", "DeSync-style: mean |predicted audio-video offset|"),
        spec("align_acc", Direction.HIGHER, "share", "share of pairs judged aligned (p >= 0.5)"),
    )


def shipped_weights_sha256() -> str | None:
    """sha256 of the shipped probe asset (None when it is not in this checkout)."""
    from v2abench.probes.load import file_sha256, shipped_asset

    weights = shipped_asset()[0]
    return file_sha256(weights) if weights.is_file() else None


class SynthProbeBackbone:
    """Catalogue entry point (``BackboneFamily.backbone_target``): ``SynthProbeBackbone()`` returns the
    shipped probe, loaded by :func:`~v2abench.probes.load_synthprobe` (which raises
    :class:`~v2abench.weights.MissingWeightsError` naming the training command when it is absent). The
    probe ships inside the package (``v2abench/assets``), not through the weights registry, hence
    ``weights_name = None``; its hash is :func:`shipped_weights_sha256`."""

    id = BACKBONE
    sample_rate = SAMPLE_RATE
    weights_name: str | None = None

    def __new__(cls) -> Any:  # type: ignore[misc]
        from v2abench.probes.load import load_synthprobe

        return load_synthprobe()


def video_for_audio(frames: torch.Tensor, fps: float | None, duration: float) -> torch.Tensor:
    """uint8 frames ``[T, 3, H, W]`` at 25 fps covering the scored ``duration`` (the last part of a
    longer video: test-fe scores the continuation)."""
    rate = float(fps or FPS)
    if abs(rate - FPS) > 1e-6:  # nearest frame at each 25 fps tick
        count = max(1, int(np.floor(frames.shape[0] / rate * FPS + 1e-6)))
        idx = torch.clamp(torch.round(torch.arange(count) / FPS * rate).long(), max=frames.shape[0] - 1)
        frames = frames[idx]
    want = round(duration * FPS)
    if 0 < want < frames.shape[0]:
        frames = frames[frames.shape[0] - want :]
    return frames


class SynthProbeMetrics(MetricFamily):
    """All ``@synthprobe`` ids from one probe pass per clip.

    State (merged across processes by the base class): per-clip dicts keyed by clip id, and the
    per-metric dropped ids.

    Args:
        probe: a loaded :class:`~v2abench.probes.SynthProbe` (tests pass a random one); None loads
            ``path`` or the shipped asset (:func:`~v2abench.probes.load_synthprobe`; missing weights
            raise :class:`~v2abench.weights.MissingWeightsError` naming the training command).
        fd_method: ``sqrtm`` (default, av-benchmark) or ``eig``.
        is_split_size: clips per IS split (:data:`~v2abench.metrics.class_scores.IS_SPLIT_SIZE`, the
            SynthFoley boards' policy; None: av-benchmark's 10 splits).
        use_cache: cache audio/video features in the feature cache.
    """

    per_clip_state = ("gen_emb", "ref_emb", "ref_logits", "gen_logits", "ib", "clap", "clap_audio", "desync",
                      "signed_offset", "p_aligned", "metric_dropped")

    def __init__(self, probe: Any = None, *, path: Any = None, fd_method: str = "sqrtm", use_cache: bool = True,
                 is_split_size: int | None = IS_SPLIT_SIZE, **kw: Any) -> None:
        super().__init__(**kw)
        if probe is None:
            from v2abench.probes.load import load_synthprobe

            probe = load_synthprobe(path)
        self.probe = probe.eval()
        self.fd_method = fd_method
        self.is_split_size = is_split_size
        self.weights_sha256: str | None = getattr(probe, "weights_sha256", None)
        self.specs = synthprobe_specs(self.weights_sha256)
        settings = {"id": BACKBONE, "sample_rate": SAMPLE_RATE, "fps": FPS, "config": probe.cfg.to_dict(), "version": 1}
        self.cache = FeatureCache(BACKBONE, self.weights_sha256, settings) if use_cache else None
        self.offsets = probe.cfg.offsets_seconds().numpy()
        # per-clip state, keyed by clip id
        self.gen_emb: dict[str, torch.Tensor] = {}  # paired clips only
        self.ref_emb: dict[str, torch.Tensor] = {}
        self.ref_logits: dict[str, torch.Tensor] = {}
        self.gen_logits: dict[str, torch.Tensor] = {}  # every clip (IS); KL reads the paired ones
        self.ib: dict[str, float] = {}
        self.clap: dict[str, float] = {}
        self.clap_audio: dict[str, float] = {}  # clips with conditioning audio only
        self.desync: dict[str, float] = {}
        self.signed_offset: dict[str, float] = {}
        self.p_aligned: dict[str, float] = {}
        self.metric_dropped: dict[str, dict[str, str]] = {s.id: {} for s in self.specs}
        self._text: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ features
    def _cached(self, key: str, compute: Any) -> dict[str, torch.Tensor]:
        if self.cache is None:
            return compute()
        return self.cache.get_or_compute(key, compute)

    def audio_features(self, audio: torch.Tensor, rate: int) -> dict[str, torch.Tensor]:
        audio = audio.detach().float().reshape(-1).cpu()
        if rate != SAMPLE_RATE:
            import torchaudio.functional as AF

            audio = AF.resample(audio, rate, SAMPLE_RATE)

        def compute() -> dict[str, torch.Tensor]:
            with torch.no_grad():
                out = self.probe.encode_audio(audio.unsqueeze(0))
            return {k: out[k][0].float().contiguous() for k in ("embedding", "logits", "sync")}

        return self._cached("audio-" + audio_sha256(audio, SAMPLE_RATE), compute)

    def video_features(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = frames.detach().cpu().contiguous()
        if frames.dtype != torch.uint8:
            raise TypeError(f"frames must be uint8 [T, 3, H, W], got {frames.dtype}")
        digest = hashlib.sha256(str(tuple(frames.shape)).encode())
        digest.update(frames.numpy().tobytes())

        def compute() -> dict[str, torch.Tensor]:
            with torch.no_grad():
                out = self.probe.encode_frames(frames)
            return {k: out[k][0].float().contiguous() for k in ("embedding", "sync")}

        return self._cached("video-" + digest.hexdigest(), compute)

    def text_embedding(self, caption: str) -> torch.Tensor:
        if caption not in self._text:
            with torch.no_grad():
                self._text[caption] = self.probe.encode_text([caption])[0].float()
        return self._text[caption]

    # ------------------------------------------------------------------ metric interface
    def _drop(self, ids: tuple[str, ...], clip_id: str, reason: str) -> None:
        for mid in ids:
            self.metric_dropped[mid][clip_id] = reason

    def update(self, sample: ClipSample) -> None:
        if sample.generated is None or sample.generated.numel() == 0:
            self.drop(sample.id, "no generated audio")
            return
        cid = sample.id
        gen = self.audio_features(sample.generated, sample.generated_rate)
        self.gen_logits[cid] = gen["logits"]
        if sample.reference is not None and sample.reference_rate is not None and sample.reference.numel() > 0:
            ref = self.audio_features(sample.reference, sample.reference_rate)
            self.gen_emb[cid] = gen["embedding"]
            self.ref_emb[cid] = ref["embedding"]
            self.ref_logits[cid] = ref["logits"]
        else:
            self._drop(PAIRED_IDS, cid, "no reference audio")
        if sample.caption:
            self.clap[cid] = float(F.cosine_similarity(self.text_embedding(sample.caption), gen["embedding"], dim=0))
        else:
            self._drop(("clap@synthprobe",), sample.id, "no caption")
        cond, cond_rate = sample.conditioning, sample.conditioning_rate
        if cond is not None and cond_rate is not None and cond.numel() > 0:
            given = self.audio_features(cond, cond_rate)
            self.clap_audio[cid] = float(F.cosine_similarity(given["embedding"], gen["embedding"], dim=0))
        else:
            self._drop(("clap_audio@synthprobe",), sample.id, "no conditioning audio")
        if sample.frames is None or sample.frames.shape[0] == 0:
            self._drop(VIDEO_IDS, sample.id, "no video frames")
            return
        video = self.video_features(video_for_audio(sample.frames, sample.fps, sample.duration))
        self.ib[cid] = float(F.cosine_similarity(video["embedding"], gen["embedding"], dim=0))
        try:
            with torch.no_grad():
                offsets, aligned = self.probe.pair_logits(
                    {k: v.unsqueeze(0) for k, v in video.items()}, {k: gen[k].unsqueeze(0) for k in ("embedding", "sync")})
        except ValueError as err:  # shorter than the offset range
            self._drop(("desync@synthprobe", "align_acc@synthprobe"), sample.id, str(err))
            return
        offset = float(self.offsets[int(offsets[0].argmax())])
        self.signed_offset[cid] = offset
        self.desync[cid] = abs(offset)
        self.p_aligned[cid] = float(torch.sigmoid(aligned[0]))

    def _result(self, mid: str, value: float | None, n: int, **kw: Any) -> MetricResult:
        s = self.spec(mid)
        dropped = dict(self.dropped) | self.metric_dropped[mid]
        return MetricResult(mid, value, s.direction, n, s.backbone, s.weights_sha256, s.version, dropped, **kw)

    def compute(self) -> list[MetricResult]:
        seed, reps = self.bootstrap_seed, self.bootstrap_resamples
        results: list[MetricResult] = []
        n = len(self.gen_emb)
        paired = sorted(self.gen_emb)
        if n >= 2:
            gen = torch.stack(by_clip(self.gen_emb)).double().numpy()
            ref = torch.stack(by_clip(self.ref_emb)).double().numpy()
            results += distribution_results(self._result, seed, "fd@synthprobe", "kad@synthprobe", "fad_inf@synthprobe",
                                            gen, ref, n, fd_method=self.fd_method)
            kl = kl_per_pair(torch.stack([self.gen_logits[c] for c in paired]), torch.stack(by_clip(self.ref_logits))).numpy()
            results.append(self._result("kl@synthprobe", float(kl.mean()), n, interval=mean_interval(kl, reps, seed),
                                        per_clip=self.mean_terms(dict(zip(paired, kl)))))
        else:
            results += [self._result(mid, None, n) for mid in PAIRED_IDS]
        m = len(self.gen_logits)
        if m >= 2:
            logits = torch.stack(by_clip(self.gen_logits))
            mean, std = inception_score(logits, split_size=self.is_split_size)
            interval = inception_score_interval(logits, 200, seed, split_size=self.is_split_size)
            results.append(self._result("is@synthprobe", mean, m, interval=interval,
                                        extra={"std_over_splits": std, "split_size": self.is_split_size}))
        else:
            results.append(self._result("is@synthprobe", None, m))
        for mid, values, extra in (
            ("ib@synthprobe", self.ib, {}),
            ("clap@synthprobe", self.clap, {}),
            ("clap_audio@synthprobe", self.clap_audio, {}),
            ("desync@synthprobe", self.desync,
             {"signed_mean_offset": float(np.mean(by_clip(self.signed_offset))) if self.signed_offset else None,
              "offsets": [float(self.offsets[0]), float(self.offsets[-1]), float(self.offsets[1] - self.offsets[0])]}),
            ("align_acc@synthprobe", {c: float(p >= ALIGNED_THRESHOLD) for c, p in self.p_aligned.items()},
             {"threshold": ALIGNED_THRESHOLD, "mean_p_aligned": float(np.mean(by_clip(self.p_aligned))) if self.p_aligned else None}),
        ):
            arr = np.asarray(by_clip(values), dtype=np.float64)
            value = float(arr.mean()) if arr.size else None
            results.append(self._result(mid, value, int(arr.size), interval=mean_interval(arr, reps, seed) if arr.size else None,
                                        extra=extra, per_clip=self.mean_terms(values) if arr.size else None))
        # per-clip data of the pooled metrics, for paired significance on boards (stored beside the result)
        emb = PooledTerms.collect("embeddings@synthprobe", per_clip={"gen": self.gen_emb, "ref": self.ref_emb})
        attach_pooled(results, {"fd@synthprobe": emb, "kad@synthprobe": emb,
                                "is@synthprobe": PooledTerms.collect("logits@synthprobe", per_clip={"logits": self.gen_logits})})
        order = {s.id: i for i, s in enumerate(self.specs)}
        return sorted(results, key=lambda r: order[r.id])
