"""Decoding with PyAV: one container open and one demux pass per clip (see :mod:`v2abench.media`)."""


from __future__ import annotations

import logging
import math
import os
from typing import Any

import av
import numpy as np
import torch

log = logging.getLogger(__name__)
from v2abench.media.types import ArrayLike, PathLike, Clip, CorruptMediaError, EmptyMediaError, MediaError, MediaInfo, MissingMediaError, NoAudioStreamError, NoVideoStreamError  # noqa: F401
from v2abench.media.types import _reading, _atomic, _TRUNCATION_TOLERANCE_S, _HEADER_DURATION_FORMATS  # noqa: F401

def _open_input(path: PathLike) -> tuple[str, Any]:
    """Check that ``path`` is a non-empty media file and open it for reading."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise MissingMediaError(p, "file not found")
    if not os.path.isfile(p):
        raise CorruptMediaError(p, "not a regular file")
    if os.path.getsize(p) == 0:
        raise EmptyMediaError(p, "file is empty (0 bytes)")
    with _reading(p):
        container = av.open(p, metadata_errors="replace")
    if not container.streams.video and not container.streams.audio:
        container.close()
        raise CorruptMediaError(p, "no audio or video stream found")
    return p, container


def _damaged(packet: Any, file_size: int) -> bool:
    """True for a packet flagged corrupt or reaching past the end of the file (truncation)."""
    past_end = packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > file_size
    return bool(packet.size) and (packet.is_corrupt or past_end)


def _video_stream(container: Any) -> Any | None:
    """The first video stream that is not an attached picture (cover art)."""
    pictures = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    return pictures[0] if pictures else None


def _seconds(stream: Any) -> float | None:
    """Duration the header declares for ``stream``, if any."""
    if not stream.duration or stream.duration <= 0 or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _info(path: str, container: Any) -> MediaInfo:
    v, a = _video_stream(container), next(iter(container.streams.audio), None)
    durations = [d for d in (_seconds(s) for s in (v, a) if s is not None) if d is not None]
    duration = container.duration / av.time_base if container.duration else max(durations, default=0.0)
    rate = (v.average_rate or v.guessed_rate) if v is not None else None
    vc = v.codec_context if v is not None else None
    ac = a.codec_context if a is not None else None
    return MediaInfo(path=path, duration=float(duration), has_video=vc is not None, has_audio=ac is not None,
                     fps=float(rate) if rate else None, width=vc.width if vc is not None else None,
                     height=vc.height if vc is not None else None,
                     sample_rate=ac.sample_rate if ac is not None else None,
                     channels=ac.layout.nb_channels if ac is not None else None)


class _VideoCollector:
    """Decoded frames -> RGB arrays, resampled by timestamp to a constant rate if ``fps`` is set.

    Times are relative to the first frame. Output frame k is the latest source frame with time
    <= k/fps + eps (eps = min(1 ms, 0.25/fps) absorbs container timestamp rounding), so variable
    frame rate works; there are ceil(D * fps) output frames, D = last time + last duration, or
    ``max_seconds`` if shorter. Resizing uses swscale's BILINEAR filter (deterministic).
    """

    kind = "video"

    def __init__(self, stream: Any, fps: float | None, size: tuple[int, int] | None,
                 max_seconds: float | None) -> None:
        self.period = 1.0 / float(stream.average_rate or stream.guessed_rate or 25)
        self.fps, self.size, self.limit = fps, size, max_seconds
        self.eps = min(1e-3, 0.25 / fps) if fps else -1e-6  # native: keep t < max_seconds
        self.out: list[np.ndarray] = []
        self.t0: float | None = None
        self.last_t, self.last_dur = -math.inf, 0.0
        self.pending: Any = None
        self.pending_rgb: np.ndarray | None = None
        self.reformatter = av.video.reformatter.VideoReformatter()  # reuses one swscale context
        self.done = False

    def _rgb(self, frame: Any) -> np.ndarray:
        h, w = self.size or (frame.height, frame.width)
        rgb = self.reformatter.reformat(frame, width=w, height=h, format="rgb24", interpolation="BILINEAR")
        return rgb.to_ndarray()

    def _emit_pending(self) -> None:
        if self.pending_rgb is None:
            self.pending_rgb = self._rgb(self.pending)
        self.out.append(self.pending_rgb)

    def add(self, frame: Any) -> None:
        if frame.pts is None or frame.time_base is None:
            t = self.last_t + self.period if self.out or self.pending else 0.0
        else:
            t = float(frame.pts * frame.time_base)
            self.t0 = t if self.t0 is None else self.t0
            t = max(t - self.t0, self.last_t)  # never step back in time
        if self.limit is not None and t >= self.limit + self.eps:
            self.done = True
            return
        if frame.duration and frame.time_base is not None:
            self.last_dur = float(frame.duration * frame.time_base)
        elif t > self.last_t > -math.inf:
            self.last_dur = t - self.last_t
        self.last_t = t
        if self.fps is None:
            self.out.append(self._rgb(frame))
            return
        while self.pending is not None and len(self.out) / self.fps < t - self.eps:
            self._emit_pending()
        self.pending, self.pending_rgb = frame, None

    def extent(self) -> float:
        """Seconds covered by the frames decoded so far."""
        return max(0.0, self.last_t + (self.last_dur or self.period))

    def finish(self) -> np.ndarray:
        if self.fps is not None and self.pending is not None:
            span = min(self.extent(), self.limit or math.inf)
            count = max(1, math.ceil(span * self.fps - 1e-6))
            while len(self.out) < count:
                self._emit_pending()
            del self.out[count:]
        return np.stack(self.out) if self.out else np.zeros((0, 0, 0, 3), np.uint8)


class _AudioCollector:
    """Decoded audio -> float32 [C, N] at ``sample_rate`` (libswresample); mono = channel mean.

    The channels are averaged here rather than by swresample, whose stereo downmix is
    0.707 * (L + R). Samples past the duration the header declares (AAC end padding) are dropped.
    """

    kind = "audio"

    def __init__(self, stream: Any, sample_rate: int | None, mono: bool,
                 max_seconds: float | None) -> None:
        self.rate = sample_rate or stream.codec_context.sample_rate
        self.mono = mono
        self.resampler = av.AudioResampler(format="fltp", rate=self.rate)
        declared = _seconds(stream)
        self.keep = [round(s * self.rate) for s in (max_seconds, declared) if s is not None]
        self.limit = self.keep[0] if max_seconds is not None else None
        self.chunks: list[np.ndarray] = []
        self.n = 0
        self.done = False

    def add(self, frame: Any | None) -> None:
        for out in self.resampler.resample(frame):
            self.chunks.append(out.to_ndarray().reshape(out.layout.nb_channels, -1).astype(np.float32))
            self.n += out.samples
        self.done = self.limit is not None and self.n >= self.limit

    def extent(self) -> float:
        return self.n / self.rate

    def finish(self) -> np.ndarray:
        if not self.done:
            self.add(None)  # flush the resampler
        x = np.concatenate(self.chunks, axis=1) if self.chunks else np.zeros((1, 0), np.float32)
        x = x[:, : min([x.shape[1], *self.keep])]
        return x.mean(axis=0, keepdims=True, dtype=np.float32) if self.mono else x


def decode_clip(path: PathLike, *, fps: float | None = None, size: int | tuple[int, int] | None = None,
                sample_rate: int | None = None, mono: bool = True, max_seconds: float | None = None,
                video: bool = True, audio: bool = True, require_audio: bool = True) -> Clip:
    """Decode the video and audio of ``path`` in one open and one demux pass.

    Args:
        fps: resample video to this constant rate by timestamp (variable frame rate works, see
            :class:`_VideoCollector`); None keeps the native frames.
        size: resize to ``(size, size)`` or ``(H, W)`` with swscale BILINEAR; None keeps native.
        sample_rate: resample audio to this rate; None keeps the native rate.
        mono: average the channels (arithmetic mean) into one; else keep all channels.
        max_seconds: truncate both streams to this duration.
        video, audio: which streams to decode.
        require_audio: if False, a file without audio gives ``audio=None`` instead of raising.
    """
    if (fps is not None and not fps > 0) or (max_seconds is not None and not max_seconds > 0):
        raise ValueError(f"fps and max_seconds must be > 0, got {fps}, {max_seconds}")
    if sample_rate is not None and not (isinstance(sample_rate, int) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not (video or audio):
        raise ValueError("nothing to decode: video and audio are both False")
    hw = None if size is None else (size, size) if isinstance(size, int) else tuple(size)
    if hw is not None and (len(hw) != 2 or not all(isinstance(x, int) and x > 0 for x in hw)):
        raise ValueError(f"size must be a positive int or (H, W), got {size!r}")
    p, container = _open_input(path)
    file_size = os.path.getsize(p)
    with _reading(p), container:
        info = _info(p, container)
        vs = _video_stream(container) if video else None
        if video and vs is None:
            raise NoVideoStreamError(p, "no video stream")
        as_ = next(iter(container.streams.audio), None) if audio else None
        if audio and as_ is None and require_audio:
            raise NoAudioStreamError(p, "no audio stream")
        collectors: dict[int, _VideoCollector | _AudioCollector] = {}
        if vs is not None:
            collectors[vs.index] = _VideoCollector(vs, fps, hw, max_seconds)  # type: ignore[arg-type]
        if as_ is not None:
            collectors[as_.index] = _AudioCollector(as_, sample_rate, mono, max_seconds)
        for packet in container.demux(*[s for s in (vs, as_) if s is not None]):
            if all(c.done for c in collectors.values()):
                break
            collector = collectors.get(packet.stream_index)
            if collector is None or collector.done:
                continue
            if _damaged(packet, file_size):
                raise CorruptMediaError(p, f"{collector.kind} packet at byte {packet.pos} is damaged "
                                           "or extends past the end of the file (truncated?)")
            for frame in packet.decode():
                collector.add(frame)
                if collector.done:
                    break
        arrays: dict[str, np.ndarray] = {}
        for stream, c in ((s, collectors[s.index]) for s in (vs, as_) if s is not None):
            arrays[c.kind] = c.finish()
            if arrays[c.kind].size == 0:
                raise CorruptMediaError(p, f"{c.kind} stream yields nothing")
            declared = _seconds(stream)
            expected = min(declared or 0.0, max_seconds or math.inf)
            if (not c.done and declared and any(f in container.format.name for f in _HEADER_DURATION_FORMATS)
                    and c.extent() < expected - _TRUNCATION_TOLERANCE_S):
                raise CorruptMediaError(p, f"{c.kind} stream ends at {c.extent():.2f} s but the header "
                                           f"declares {declared:.2f} s (truncated file?)")
        rate = collectors[as_.index].rate if as_ is not None else None  # type: ignore[union-attr]
    frames = torch.from_numpy(arrays["video"]).permute(0, 3, 1, 2).contiguous() if video else None
    pcm = torch.from_numpy(np.ascontiguousarray(arrays["audio"])) if "audio" in arrays else None
    return Clip(frames=frames, fps=(fps or info.fps) if video else None, audio=pcm, sample_rate=rate, info=info)


def probe(path: PathLike) -> MediaInfo:
    """Read the container header of ``path`` (nothing decoded)."""
    p, container = _open_input(path)
    with _reading(p), container:
        return _info(p, container)


def decode_video(path: PathLike, *, fps: float | None = None, size: int | tuple[int, int] | None = None,
                 max_seconds: float | None = None) -> torch.Tensor:
    """Video frames of ``path`` as uint8 [T, 3, H, W] (see :func:`decode_clip`)."""
    frames = decode_clip(path, fps=fps, size=size, max_seconds=max_seconds, audio=False).frames
    assert frames is not None
    return frames


def decode_audio(path: PathLike, *, sample_rate: int | None = None, mono: bool = True,
                 max_seconds: float | None = None) -> tuple[torch.Tensor, int]:
    """Audio of any file PyAV opens (.mp4, .wav, .flac, .m4a, ...) as (float32 [C, N], rate)."""
    clip = decode_clip(path, sample_rate=sample_rate, mono=mono, max_seconds=max_seconds, video=False)
    assert clip.audio is not None and clip.sample_rate is not None
    return clip.audio, clip.sample_rate


read_audio = decode_audio


