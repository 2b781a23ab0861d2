"""Video and audio I/O with PyAV: one decode per clip, deterministic atomic writes.

:func:`decode_clip` opens a file once and decodes video and audio in one demux pass; everything
downstream reads its tensors: frames uint8 ``[T, 3, H, W]`` RGB at a requested constant fps and
size, audio float32 ``[C, N]`` at a requested rate (``C = 1`` when mono: the mean of the channels).

:func:`write_clip` writes H.264 (libx264) + AAC (FFmpeg's native encoder) .mp4 files whose bytes
depend only on the inputs: single-threaded x264 with mb-tree rate control off (mb-tree reads memory
left over from earlier encodes, so output depended on what was encoded before), and bitexact
container and codec flags (no creation time, no library version). :func:`mux_audio` replaces the
audio of a video by stream copy. Every write goes to a temporary file beside the target and is
moved into place with ``os.replace``.

Errors: every failure to read or write a file raises a :class:`MediaError` naming the file, with
the PyAV/OS error chained; a missing file raises :class:`MissingMediaError`. Invalid arguments
raise ``ValueError``. Damaged files are rejected, never partially decoded: a file that cannot be
opened, a packet flagged corrupt or extending past the end of the file, a decoder error, a stream
that yields nothing, or a stream ending more than 0.5 s before the duration its header declares
(a file cut at a packet boundary) raise :class:`CorruptMediaError`. Damage past ``max_seconds`` is
not seen, because demuxing stops there.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Union

import av
import numpy as np
import soundfile as sf
import torch

log = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Union[np.ndarray, torch.Tensor]

_AAC_FRAME = 1024  # samples per AAC frame
_AAC_BITRATE_PER_CHANNEL = 64_000  # capped at the encoder's limit of 6 bits per sample
_X264_OPTIONS = {"preset": "veryfast", "x264-params": "mbtree=0:threads=1"}
_TRUNCATION_TOLERANCE_S = 0.5
_HEADER_DURATION_FORMATS = ("mov", "mp4", "matroska", "webm", "wav", "flac", "avi")
_SF_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile: the float-WAV PEAK chunk stores time(NULL)


class MediaError(Exception):
    """A media file could not be read or written; ``path`` names it, ``reason`` says why."""

    def __init__(self, path: PathLike, reason: str) -> None:
        super().__init__(str(path), reason)
        self.path, self.reason = str(path), reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class MissingMediaError(MediaError):
    """The file does not exist."""


class EmptyMediaError(MediaError):
    """The file has zero bytes."""


class CorruptMediaError(MediaError):
    """The file cannot be opened, demuxed or decoded (truncated, garbage), or yields nothing."""


class NoAudioStreamError(MediaError):
    """Audio was asked for but the file has no audio stream."""


class NoVideoStreamError(MediaError):
    """Video was asked for but the file has no video stream."""


@dataclass(frozen=True)
class MediaInfo:
    """What a container header says about a file (nothing decoded)."""

    path: str
    duration: float
    has_video: bool
    has_audio: bool
    fps: float | None
    width: int | None
    height: int | None
    sample_rate: int | None
    channels: int | None


@dataclass
class Clip:
    """Decoded streams of one file: ``frames`` uint8 [T,3,H,W], ``audio`` float32 [C,N]."""

    frames: torch.Tensor | None
    fps: float | None
    audio: torch.Tensor | None
    sample_rate: int | None
    info: MediaInfo


# ----------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _reading(path: str) -> Iterator[None]:
    """Re-raise PyAV and OS errors met while reading ``path`` as :class:`CorruptMediaError`."""
    try:
        yield
    except MediaError:
        raise
    except FileNotFoundError as e:
        raise MissingMediaError(path, "file not found") from e
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as e:
        raise CorruptMediaError(path, f"cannot open, demux or decode: {e}") from e


@contextlib.contextmanager
def _atomic(path: PathLike) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it into place if the block succeeds."""
    final = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(final))
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(e, (av.error.FFmpegError, OSError)) and not isinstance(e, MediaError):
            raise MediaError(final, f"cannot write: {e}") from e
        raise


def _open_input(path: PathLike) -> tuple[str, Any]:
    """Check that ``path`` is a non-empty file and open it (call inside :func:`_reading`)."""
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


def _audio_stream(container: Any) -> Any | None:
    return container.streams.audio[0] if container.streams.audio else None


def _seconds(stream: Any) -> float | None:
    """Duration the header declares for ``stream``, if any."""
    if not stream.duration or stream.duration <= 0 or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _info(path: str, container: Any) -> MediaInfo:
    v, a = _video_stream(container), _audio_stream(container)
    durations = [d for d in (_seconds(s) for s in (v, a) if s is not None) if d is not None]
    duration = container.duration / av.time_base if container.duration else max(durations, default=0.0)
    rate = (v.average_rate or v.guessed_rate) if v is not None else None
    return MediaInfo(
        path=path, duration=float(duration), has_video=v is not None, has_audio=a is not None,
        fps=float(rate) if rate else None,
        width=v.codec_context.width if v is not None else None,
        height=v.codec_context.height if v is not None else None,
        sample_rate=a.codec_context.sample_rate if a is not None else None,
        channels=a.codec_context.layout.nb_channels if a is not None else None,
    )


# ----------------------------------------------------------------------------- decoding


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
        self.done = False

    def _rgb(self, frame: Any) -> np.ndarray:
        h, w = self.size or (frame.height, frame.width)
        return frame.reformat(width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray()

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
        as_ = _audio_stream(container) if audio else None
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
    frames = torch.from_numpy(arrays["video"]).permute(0, 3, 1, 2).contiguous() if vs is not None else None
    pcm = torch.from_numpy(np.ascontiguousarray(arrays["audio"])) if as_ is not None else None
    return Clip(frames=frames, fps=(fps or info.fps) if frames is not None else None, audio=pcm,
                sample_rate=collectors[as_.index].rate if as_ is not None else None, info=info)  # type: ignore[union-attr]


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


# ----------------------------------------------------------------------------- encoding


def _frames_thwc(frames: ArrayLike) -> np.ndarray:
    """uint8 [T,H,W,3] (numpy or torch) or [T,3,H,W] (torch) -> contiguous numpy [T,H,W,3]."""
    if isinstance(frames, torch.Tensor):
        if frames.ndim == 4 and frames.shape[1] == 3 and frames.shape[3] != 3:
            frames = frames.permute(0, 2, 3, 1)
        frames = frames.detach().cpu().numpy()
    x = np.asarray(frames)
    if x.ndim != 4 or x.shape[3] != 3 or x.shape[0] == 0 or x.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T,H,W,3] with T > 0, got {x.dtype} {x.shape}")
    return np.ascontiguousarray(x)


def _audio_cn(audio: ArrayLike, sample_rate: int | None) -> np.ndarray:
    """float [N] or [C,N] -> float32 [C,N]; also checks ``sample_rate``."""
    if not (isinstance(sample_rate, int) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    x = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    x = x[None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[0] == 0 or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"audio must be float [N] or [C,N], got {x.dtype} {x.shape}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _open_mp4(path: str) -> Any:
    return av.open(path, "w", format="mp4", options={"fflags": "+bitexact"})


def _encode_aac(container: Any, pcm: np.ndarray, sample_rate: int) -> list[Any]:
    """Add an AAC stream to ``container`` and return the packets encoding ``pcm`` [C, N]."""
    layout = {1: "mono", 2: "stereo"}.get(pcm.shape[0]) or av.AudioLayout(pcm.shape[0])
    ctx = container.add_stream("aac", rate=sample_rate).codec_context
    ctx.layout, ctx.format, ctx.thread_count = layout, "fltp", 1
    ctx.bit_rate = min(_AAC_BITRATE_PER_CHANNEL, 6 * sample_rate) * pcm.shape[0]
    ctx.flags |= av.codec.context.Flags.bitexact
    ctx.options = {"aac_coder": "fast"}  # twice as fast as twoloop, as good at these rates
    packets: list[Any] = []
    for start in range(0, pcm.shape[1], _AAC_FRAME):
        chunk = np.ascontiguousarray(pcm[:, start:start + _AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sample_rate, start
        packets += ctx.encode(frame)
    return packets + ctx.encode(None)


def _mux_in_time_order(container: Any, packets: Sequence[Any]) -> None:
    """Mux the packets of all streams interleaved by decode time (a deterministic order)."""
    def key(item: tuple[int, Any]) -> tuple[float, int, int]:
        i, p = item
        t = p.dts if p.dts is not None else p.pts
        return (float(t * p.time_base) if t is not None else 0.0, p.stream.index, i)
    for _, packet in sorted(enumerate(packets), key=key):
        container.mux(packet)


def write_clip(path: PathLike, frames: ArrayLike, fps: float, audio: ArrayLike | None = None,
               sample_rate: int | None = None, *, crf: int = 23) -> None:
    """Write an .mp4: H.264 video (libx264, ``crf``, preset veryfast) and optional AAC audio.

    ``frames``: uint8 [T,H,W,3] (numpy or torch) or [T,3,H,W] (torch). Even sizes are stored as
    yuv420p; an odd width or height as yuv444p (High 4:4:4 profile) at the exact size, since 4:2:0
    cannot represent it. ``audio``: float [N] or [C,N] in [-1, 1] at ``sample_rate``. The bytes are
    a function of the inputs only (see the module docstring); the write is atomic.
    """
    video = _frames_thwc(frames)
    pcm = _audio_cn(audio, sample_rate) if audio is not None else None
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    _, height, width, _ = video.shape
    with _atomic(path) as tmp, _open_mp4(tmp) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1_001_000))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        stream.codec_context.thread_count = 1
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        stream.codec_context.options = {"crf": str(crf), **_X264_OPTIONS}
        packets: list[Any] = []
        for i, rgb in enumerate(video):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            packets += stream.encode(frame)
        packets += stream.encode(None)
        if pcm is not None:
            packets += _encode_aac(container, pcm, sample_rate)  # type: ignore[arg-type]
        _mux_in_time_order(container, packets)


def mux_audio(video_path: PathLike, audio: ArrayLike, sample_rate: int, out_path: PathLike) -> None:
    """Write ``out_path``: the video stream of ``video_path`` copied packet for packet (not
    re-encoded) plus ``audio`` as AAC, cut or zero-padded to the video duration. Audio streams of
    the input are dropped. ``out_path`` may be ``video_path``; the write is atomic."""
    pcm = _audio_cn(audio, sample_rate)
    src, inp = _open_input(video_path)
    file_size = os.path.getsize(src)
    with _reading(src), inp:
        vin = _video_stream(inp)
        if vin is None:
            raise NoVideoStreamError(src, "no video stream")
        packets = [p for p in inp.demux(vin) if p.size]
        if not packets or any(_damaged(p, file_size) for p in packets):
            raise CorruptMediaError(src, "video packets are missing, damaged or truncated")
        duration = _seconds(vin)
        if duration is None:
            timed = [p for p in packets if p.pts is not None]
            duration = float(max((p.pts + (p.duration or 0)) * p.time_base for p in timed)
                             - min(p.pts * p.time_base for p in timed))
        n = round(duration * sample_rate)
        fitted = np.zeros((pcm.shape[0], n), np.float32)
        fitted[:, : min(n, pcm.shape[1])] = pcm[:, :n]
        with _atomic(out_path) as tmp, _open_mp4(tmp) as out:
            vout = out.add_stream_from_template(vin)
            vout.time_base = vin.time_base
            for p in packets:
                p.stream = vout
            _mux_in_time_order(out, packets + _encode_aac(out, fitted, sample_rate))


def write_audio(path: PathLike, audio: ArrayLike, sample_rate: int, *, subtype: str = "PCM_16") -> None:
    """Write .wav or .flac with soundfile, atomically and deterministically.

    ``audio``: float [N] or [C,N]. ``subtype``: PCM_16 (default), PCM_24, or FLOAT (.wav only).
    Integer subtypes clip to [-1, 1] (with a warning); float WAVs omit the PEAK chunk, whose
    timestamp would make the bytes differ between runs.
    """
    p = os.fspath(path)
    fmt = _SF_FORMATS.get(os.path.splitext(p)[1].lower())
    if fmt is None:
        raise ValueError(f"write_audio writes .wav or .flac, not {p}")
    x = _audio_cn(audio, sample_rate)
    if subtype.startswith("PCM"):
        if np.abs(x).max(initial=0.0) > 1.0:
            log.warning("%s: clipping audio to [-1, 1] for %s", p, subtype)
        x = np.clip(x, -1.0, 1.0)
    with _atomic(p) as tmp:
        try:
            with sf.SoundFile(tmp, "w", sample_rate, x.shape[0], subtype, format=fmt) as f:
                if fmt == "WAV" and subtype in ("FLOAT", "DOUBLE"):
                    sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
                f.write(x.T)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
            raise MediaError(p, f"cannot write audio: {e}") from e


def sha256_file(path: PathLike) -> str:
    """Hex sha256 of the bytes of ``path``."""
    p = os.fspath(path)
    digest = hashlib.sha256()
    try:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except FileNotFoundError as e:
        raise MissingMediaError(p, "file not found") from e
    except OSError as e:
        raise MediaError(p, f"cannot read: {e}") from e
    return digest.hexdigest()
