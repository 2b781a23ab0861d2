"""Tests for v2abench.media: decode/encode round trips, resampling, edge-case files, determinism."""

from __future__ import annotations

import pickle
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from v2abench import media
from v2abench.media import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MissingMediaError,
    NoAudioStreamError,
    NoVideoStreamError,
)

SR = 16_000


# ----------------------------------------------------------------------------- helpers


def smooth_frames(t: int = 100, h: int = 112, w: int = 112) -> np.ndarray:
    """A slowly moving colour gradient, uint8 [T,H,W,3] (easy to compress, easy to compare)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty((t, h, w, 3), np.uint8)
    for i in range(t):
        out[i, ..., 0] = 40 + 150 * xx / w
        out[i, ..., 1] = 40 + 150 * yy / h
        out[i, ..., 2] = 60 + i % 100
    return out


def coded_frames(t: int, h: int = 48, w: int = 64) -> np.ndarray:
    """Frame i shows i in binary as 8 black/white vertical stripes: robust to lossy coding."""
    out = np.zeros((t, h, w, 3), np.uint8)
    stripe = w // 8
    for i in range(t):
        for bit in range(8):
            if i >> bit & 1:
                out[i, :, bit * stripe:(bit + 1) * stripe] = 255
    return out


def read_codes(frames: torch.Tensor) -> list[int]:
    """Inverse of coded_frames for decoded uint8 [T,3,H,W] frames."""
    w = frames.shape[-1]
    stripe = w // 8
    codes = []
    for f in frames.float():
        bits = [f[:, :, b * stripe + 1:(b + 1) * stripe - 1].mean() > 127 for b in range(8)]
        codes.append(sum(int(v) << b for b, v in enumerate(bits)))
    return codes


def sine(freq: float, rate: int = SR, seconds: float = 4.0, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(round(rate * seconds)) / rate)).astype(np.float32)


def peak_hz(x: torch.Tensor | np.ndarray, rate: int) -> float:
    x = np.asarray(x, np.float64).reshape(-1)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spec.argmax()])


def write_vfr(path: Path, pts_ms: list[int], last_ms: int) -> None:
    """Raw PyAV: an H.264 mp4 whose frame i (code i) is shown at pts_ms[i] (no B-frames)."""
    frames = coded_frames(len(pts_ms))
    durations = {p: (pts_ms[i + 1] - p if i + 1 < len(pts_ms) else last_ms) for i, p in enumerate(pts_ms)}
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        s.codec_context.options = {"x264-params": "bframes=0"}
        packets = []
        for i, p in enumerate(pts_ms):
            f = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            f.pts, f.time_base = p, Fraction(1, 1000)
            packets += s.encode(f)
        packets += s.encode(None)
        for pk in packets:
            pk.duration = durations[pk.pts]
            c.mux(pk)


def write_faststart(path: Path, seconds: float = 4.0) -> None:
    """Raw PyAV: 25 fps video + AAC with the moov atom first (packets readable before it ends)."""
    frames = smooth_frames(int(seconds * 25), 64, 64)
    pcm = sine(440, seconds=seconds)[None]
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        a = c.add_stream("aac", rate=SR)
        a.codec_context.layout, a.codec_context.format = "mono", "fltp"
        for i, fr in enumerate(frames):
            f = av.VideoFrame.from_ndarray(fr, format="rgb24")
            f.pts = i
            for pk in v.encode(f):
                c.mux(pk)
        for pk in v.encode(None):
            c.mux(pk)
        for s in range(0, pcm.shape[1], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, s:s + 1024]), format="fltp", layout="mono")
            f.sample_rate, f.pts = SR, s
            for pk in a.encode(f):
                c.mux(pk)
        for pk in a.encode(None):
            c.mux(pk)


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's target format: 4.0 s, 25 fps, 112x112, AAC 16 kHz mono 440 Hz sine."""
    path = tmp_path_factory.mktemp("media") / "clip.mp4"
    media.write_clip(path, smooth_frames(), 25, sine(440), SR)
    return path


# ----------------------------------------------------------------------------- round trips


def test_round_trip_target_format(clip_path: Path) -> None:
    clip = media.decode_clip(clip_path)
    assert clip.frames is not None and clip.audio is not None
    assert clip.frames.shape == (100, 3, 112, 112) and clip.frames.dtype == torch.uint8
    assert clip.fps == 25.0 and clip.sample_rate == SR
    assert clip.audio.shape == (1, 64_000) and clip.audio.dtype == torch.float32
    diff = (clip.frames.permute(0, 2, 3, 1).float() - torch.from_numpy(smooth_frames()).float()).abs()
    assert diff.mean() < 3.0
    assert abs(peak_hz(clip.audio, SR) - 440) < 2
    assert clip.audio.pow(2).mean().sqrt() == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    info = media.probe(clip_path)
    assert info == clip.info
    assert (info.duration, info.fps, info.width, info.height) == (4.0, 25.0, 112, 112)
    assert (info.has_video, info.has_audio, info.sample_rate, info.channels) == (True, True, SR, 1)


def test_wrappers_and_max_seconds(clip_path: Path) -> None:
    frames = media.decode_video(clip_path, max_seconds=1.5)
    assert frames.shape == (38, 3, 112, 112)  # native frames with t < 1.5 s: 0.00 .. 1.48
    assert media.decode_video(clip_path, fps=10, size=32, max_seconds=1.5).shape == (15, 3, 32, 32)
    audio, rate = media.decode_audio(clip_path, max_seconds=1.5)
    assert audio.shape == (1, 24_000) and rate == SR
    assert media.read_audio is media.decode_audio


def test_write_clip_accepts_tchw_tensor(tmp_path: Path) -> None:
    frames = smooth_frames(10, 32, 48)
    media.write_clip(tmp_path / "a.mp4", frames, 25)
    media.write_clip(tmp_path / "b.mp4", torch.from_numpy(frames).permute(0, 3, 1, 2), 25)
    assert media.sha256_file(tmp_path / "a.mp4") == media.sha256_file(tmp_path / "b.mp4")
    with pytest.raises(ValueError):
        media.write_clip(tmp_path / "c.mp4", frames.astype(np.float32), 25)


# ----------------------------------------------------------------------------- frame rate


def test_fps_resampling_picks_frames_by_timestamp(tmp_path: Path) -> None:
    path = tmp_path / "30fps.mp4"
    media.write_clip(path, coded_frames(60), 30)  # 2.0 s
    assert read_codes(media.decode_video(path)) == list(range(60))
    down = media.decode_video(path, fps=25)
    assert down.shape[0] == 50  # ceil(2.0 * 25)
    assert read_codes(down) == [int(k * 30 / 25 + 1e-9) for k in range(50)]  # latest pts <= k/25
    up = media.decode_video(path, fps=60)
    assert read_codes(up) == [k // 2 for k in range(120)]


def test_variable_frame_rate_source(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    write_vfr(path, [0, 40, 50, 130, 200, 210, 300, 390], last_ms=40)  # extent 0.43 s
    assert read_codes(media.decode_video(path)) == list(range(8))
    frames = media.decode_video(path, fps=25)
    assert frames.shape[0] == 11  # ceil(0.43 * 25)
    # output k at k*40 ms shows the latest frame with pts <= k*40 ms
    assert read_codes(frames) == [0, 1, 2, 2, 3, 4, 5, 5, 6, 6, 7]


# ----------------------------------------------------------------------------- sizes


def test_odd_sizes(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    frames = smooth_frames(10, 97, 113)  # H=97, W=113: stored as yuv444p
    media.write_clip(path, frames, 25)
    info = media.probe(path)
    assert (info.width, info.height) == (113, 97)
    native = media.decode_video(path)
    assert native.shape == (10, 3, 97, 113)
    assert (native.permute(0, 2, 3, 1).float() - torch.from_numpy(frames).float()).abs().mean() < 3.0
    assert media.decode_video(path, size=(31, 45)).shape == (10, 3, 31, 45)
    square = media.decode_video(path, size=33)
    assert square.shape == (10, 3, 33, 33)
    # resizing is a deterministic filter
    assert torch.equal(square, media.decode_video(path, size=33))


# ----------------------------------------------------------------------------- audio


def test_stereo_to_mono_is_channel_mean(tmp_path: Path) -> None:
    path = tmp_path / "stereo.mp4"
    media.write_clip(path, smooth_frames(25, 32, 32), 25, np.stack([sine(300, seconds=1), sine(1200, seconds=1)]), SR)
    stereo, rate = media.decode_audio(path, mono=False)
    assert stereo.shape == (2, 16_000) and rate == SR
    assert abs(peak_hz(stereo[0], SR) - 300) < 2 and abs(peak_hz(stereo[1], SR) - 1200) < 2
    mono, _ = media.decode_audio(path)
    assert mono.shape == (1, 16_000)
    torch.testing.assert_close(mono, stereo.mean(dim=0, keepdim=True), atol=1e-6, rtol=0)


@pytest.mark.parametrize("rate", [44_100, 48_000])
@pytest.mark.parametrize("container", ["mp4", "flac"])
def test_resample_to_16k(tmp_path: Path, rate: int, container: str) -> None:
    path = tmp_path / f"src.{container}"
    x = sine(1000, rate=rate, seconds=2.0)
    if container == "mp4":
        media.write_clip(path, smooth_frames(50, 32, 32), 25, x, rate)
    else:
        media.write_audio(path, x, rate)
    assert media.probe(path).sample_rate == rate
    y, out_rate = media.decode_audio(path, sample_rate=16_000)
    assert out_rate == 16_000
    assert abs(y.shape[1] - 32_000) <= 16  # within 1 ms
    assert abs(peak_hz(y, 16_000) - 1000) < 2


def test_no_audio_stream(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    media.write_clip(path, smooth_frames(10, 32, 32), 25)
    assert media.probe(path).has_audio is False
    with pytest.raises(NoAudioStreamError, match="silent.mp4"):
        media.decode_clip(path)
    with pytest.raises(NoAudioStreamError):
        media.decode_audio(path)
    clip = media.decode_clip(path, require_audio=False)
    assert clip.audio is None and clip.sample_rate is None
    assert clip.frames is not None and clip.frames.shape == (10, 3, 32, 32)


def test_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    media.write_audio(path, sine(440, seconds=0.5), SR)
    assert media.probe(path).has_video is False
    with pytest.raises(NoVideoStreamError, match="a.wav"):
        media.decode_video(path)
    assert media.decode_clip(path, video=False).frames is None


@pytest.mark.parametrize("suffix,subtype,tol", [(".wav", "PCM_16", 1 / 32768), (".flac", "PCM_16", 1 / 32768),
                                                (".flac", "PCM_24", 1e-6), (".wav", "FLOAT", 0.0)])
def test_write_read_audio_round_trip(tmp_path: Path, suffix: str, subtype: str, tol: float) -> None:
    x = np.stack([sine(440, seconds=0.5), sine(880, seconds=0.5, amp=0.3)])
    path = tmp_path / f"a{suffix}"
    media.write_audio(path, torch.from_numpy(x), SR, subtype=subtype)
    y, rate = media.read_audio(path, mono=False)
    assert rate == SR and y.shape == (2, 8000)
    assert (y - torch.from_numpy(x)).abs().max() <= tol + 1e-7
    mono, _ = media.read_audio(path)
    torch.testing.assert_close(mono, y.mean(0, keepdim=True), atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------- damaged files


def test_missing_and_empty_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    for fn in (media.decode_clip, media.probe, media.decode_video, media.decode_audio, media.sha256_file):
        with pytest.raises(MissingMediaError, match="nope.mp4"):
            fn(missing)
    with pytest.raises(MissingMediaError):
        media.mux_audio(missing, sine(440), SR, tmp_path / "out.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for fn in (media.decode_clip, media.probe, media.decode_audio):
        with pytest.raises(EmptyMediaError, match="empty.mp4"):
            fn(empty)


@pytest.mark.parametrize("payload", [b"not a video at all " * 500, bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8))])
def test_garbage_bytes(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(payload)
    for fn in (media.decode_clip, media.probe):
        with pytest.raises(CorruptMediaError) as err:
            fn(path)
        assert err.value.path == str(path) and str(path) in str(err.value)
        assert err.value.__cause__ is not None  # the PyAV error is chained


def test_truncated_mp4_moov_at_end(clip_path: Path, tmp_path: Path) -> None:
    """write_clip puts the index last: a cut file cannot be opened at all."""
    path = tmp_path / "cut.mp4"
    data = clip_path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(CorruptMediaError, match="cut.mp4"):
        media.decode_clip(path)


def test_truncated_mp4_moov_first(tmp_path: Path) -> None:
    """Index first: a cut file opens, but decoding rejects it rather than returning part of it."""
    full = tmp_path / "full.mp4"
    write_faststart(full)
    data = full.read_bytes()
    mid = tmp_path / "mid.mp4"  # cut inside a packet
    mid.write_bytes(data[: int(len(data) * 0.4)])
    with pytest.raises(CorruptMediaError, match="past the end of the file"):
        media.decode_clip(mid)
    with av.open(str(full)) as c:  # cut exactly at a packet boundary half way
        positions = sorted(p.pos for p in c.demux() if p.size)
    edge = tmp_path / "edge.mp4"
    edge.write_bytes(data[: positions[len(positions) // 2]])
    with pytest.raises(CorruptMediaError, match="header declares"):
        media.decode_clip(edge)
    with pytest.raises(CorruptMediaError):
        media.decode_audio(edge)
    # damage beyond max_seconds is not read, so the intact head decodes
    head = media.decode_clip(edge, max_seconds=0.5)
    assert head.frames is not None and head.frames.shape[0] == 13
    assert head.audio is not None and head.audio.shape == (1, 8000)


def test_media_error_is_picklable_and_names_the_file() -> None:
    err = CorruptMediaError("/x/y.mp4", "bad")
    again = pickle.loads(pickle.dumps(err))
    assert isinstance(again, MediaError) and (again.path, again.reason) == ("/x/y.mp4", "bad")
    assert str(again) == "/x/y.mp4: bad"


# ----------------------------------------------------------------------------- determinism, muxing


def test_writes_are_byte_deterministic(tmp_path: Path) -> None:
    frames, audio = smooth_frames(50, 112, 112), sine(440, seconds=2)
    names = ("clip.mp4", "a.wav", "a.flac", "f.wav")

    def write_all(folder: Path) -> list[str]:
        folder.mkdir()
        media.write_clip(folder / "clip.mp4", frames, 25, audio, SR)
        media.write_audio(folder / "a.wav", audio, SR)
        media.write_audio(folder / "a.flac", audio, SR)
        media.write_audio(folder / "f.wav", audio, SR, subtype="FLOAT")
        return [media.sha256_file(folder / n) for n in names]

    first = write_all(tmp_path / "1")
    # encode something different in between: no state may leak from one encode to the next
    noise = np.random.default_rng(0).integers(0, 256, (50, 112, 112, 3), dtype=np.uint8)
    media.write_clip(tmp_path / "noise.mp4", noise, 25, np.random.default_rng(1).standard_normal(32_000).astype(np.float32) * 0.1, SR)
    time.sleep(1.1)  # a stored wall-clock time would change now
    assert write_all(tmp_path / "2") == first
    assert b"Lavf" not in (tmp_path / "1" / "clip.mp4").read_bytes()  # no library version tag
    assert sorted(p.name for p in (tmp_path / "1").iterdir()) == sorted(names)  # no temp files left


def test_mux_audio_copies_video_packets(clip_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "muxed.mp4"
    media.mux_audio(clip_path, sine(1000, seconds=2.5), SR, out)  # shorter than the 4 s video

    def video_packets(p: Path) -> list[tuple[int, bytes]]:
        with av.open(str(p)) as c:
            return [(pk.pts, bytes(pk)) for pk in c.demux(c.streams.video[0]) if pk.size]

    assert video_packets(out) == video_packets(clip_path)
    src, new = media.decode_clip(clip_path), media.decode_clip(out)
    assert src.frames is not None and new.frames is not None and torch.equal(new.frames, src.frames)
    assert new.audio is not None and new.audio.shape == (1, 64_000)  # padded to the video duration
    assert abs(peak_hz(new.audio[0, :40_000], SR) - 1000) < 2
    assert new.audio[0, 44_000:].abs().max() < 1e-3  # zero padding after 2.5 s
    # longer audio is cut; writing over the input in place works
    inplace = tmp_path / "inplace.mp4"
    inplace.write_bytes(clip_path.read_bytes())
    media.mux_audio(inplace, np.stack([sine(700, seconds=6)] * 2), SR, inplace)
    audio, _ = media.decode_audio(inplace, mono=False)
    assert audio.shape == (2, 64_000)
    assert video_packets(inplace) == video_packets(clip_path)


def test_decode_clip_opens_the_file_once(clip_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real_open = av.open

    def counting_open(*args: object, **kwargs: object) -> object:
        calls.append(str(args[0]))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(av, "open", counting_open)  # the one module object every media submodule uses
    media.decode_clip(clip_path, fps=10, size=64, sample_rate=8000)
    assert calls == [str(clip_path)]


def test_write_failure_is_a_media_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "x.mp4"
    with pytest.raises(MediaError, match="x.mp4"):
        media.write_clip(target, smooth_frames(5, 16, 16), 25)
    with pytest.raises(MediaError, match="x.flac"):
        media.write_audio(target.with_suffix(".flac"), sine(440, seconds=0.1), SR)
