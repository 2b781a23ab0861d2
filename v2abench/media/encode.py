"""Deterministic, atomic H.264 + AAC writing, remuxing and lossless audio files (see :mod:`v2abench.media`)."""


from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import av
import numpy as np
import soundfile as sf
import torch

log = logging.getLogger(__name__)
from v2abench.media.types import ArrayLike, PathLike, Clip, CorruptMediaError, EmptyMediaError, MediaError, MediaInfo, MissingMediaError, NoAudioStreamError, NoVideoStreamError  # noqa: F401
from v2abench.media.decode import _damaged, _open_input, _seconds, _video_stream  # noqa: F401
from v2abench.media.types import _atomic, _reading, _AAC_FRAME, _AAC_BITRATE_PER_CHANNEL, _X264_OPTIONS, _SF_FORMATS, _SFC_SET_ADD_PEAK_CHUNK  # noqa: F401

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
    stream = container.add_stream("aac", rate=sample_rate)
    ctx = stream.codec_context
    ctx.layout, ctx.format, ctx.thread_count = layout, "fltp", 1
    ctx.bit_rate = min(_AAC_BITRATE_PER_CHANNEL, 6 * sample_rate) * pcm.shape[0]
    ctx.flags |= av.codec.context.Flags.bitexact
    ctx.options = {"aac_coder": "fast"}  # twice as fast as twoloop, as good at these rates
    packets: list[Any] = []
    for start in range(0, pcm.shape[1], _AAC_FRAME):
        chunk = np.ascontiguousarray(pcm[:, start:start + _AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sample_rate, start
        packets += stream.encode(frame)
    return packets + stream.encode(None)


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
    with _atomic(p) as tmp, sf.SoundFile(tmp, "w", sample_rate, x.shape[0], subtype, format=fmt) as f:
        if fmt == "WAV" and subtype in ("FLOAT", "DOUBLE"):
            sf._snd.sf_command(f._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        f.write(x.T)


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

