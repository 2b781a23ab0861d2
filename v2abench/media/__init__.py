"""Video and audio I/O with PyAV: one decode per clip, deterministic atomic writes.

:func:`decode_clip` opens a file once and decodes both streams in one demux pass: frames uint8
``[T, 3, H, W]`` RGB at a requested constant fps and size, audio float32 ``[C, N]`` at a requested
rate (``C = 1`` when mono: the mean of the channels). :func:`write_clip` writes H.264 + AAC .mp4
files whose bytes depend only on the inputs (single-threaded x264 with mb-tree off, because mb-tree
reads memory left over from earlier encodes; bitexact flags, so no creation time or library version).
Writes go to a temporary file beside the target, then ``os.replace``.

Errors: a failure to read or write a file raises a :class:`MediaError` naming it, with the PyAV/OS
error chained; bad arguments raise ``ValueError``. Damaged files are rejected, never partially
decoded: an unopenable file, a packet flagged corrupt or reaching past the end of the file, a
decoder error, a stream yielding nothing, or one ending over 0.5 s before the duration its header
declares (a cut at a packet boundary) raise :class:`CorruptMediaError`. Damage past
``max_seconds`` is not seen: demuxing stops there.
"""

from v2abench.media.types import (
    Clip,
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaInfo,
    MissingMediaError,
    NoAudioStreamError,
    NoVideoStreamError,
)
from v2abench.media.decode import decode_audio, decode_clip, decode_video, probe, read_audio
from v2abench.media.encode import mux_audio, sha256_file, write_audio, write_clip

__all__ = [
    "Clip", "CorruptMediaError", "EmptyMediaError", "MediaError", "MediaInfo", "MissingMediaError",
    "NoAudioStreamError", "NoVideoStreamError", "decode_audio", "decode_clip", "decode_video", "probe",
    "read_audio", "mux_audio", "sha256_file", "write_audio", "write_clip",
]
