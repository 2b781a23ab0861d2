"""Media errors, the probe/decode result types and the atomic-write helper."""


from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

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
        if isinstance(e, (av.error.FFmpegError, OSError, sf.LibsndfileError)) and not isinstance(e, MediaError):
            raise MediaError(final, f"cannot write: {e}") from e
        raise


