"""The generator interface: one protocol, one call, the same keyword names for every backend.

A backend implements :class:`Generator`::

    out = generator.generate(batch, task=Task.VTA, duration=4.0, seed=0)
    out.audio            # [B, 1, T] float32 at generator.meta.sample_rate

Randomness is per clip: :func:`clip_rng` seeds a ``torch.Generator`` from (seed, clip id), so a clip's
audio does not depend on batching, sharding or resumption.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch


class Task(str, enum.Enum):
    """What is asked of a generator. Each board table is one task."""

    VTA = "vta"  # video to audio
    TTA = "tta"  # text to audio
    TC_VTA = "tc_vta"  # text-controlled video to audio
    AC_VTA = "ac_vta"  # audio-controlled (style reference) video to audio
    FE = "fe"  # Foley extension: continue a given audio prefix
    EDIT = "edit"  # regenerate a time window, keep the rest
    CAPTION = "caption"  # video to audio caption


class UnsupportedTaskError(ValueError):
    """A generator was asked for a task it does not declare."""


# "reference": the ground truth and its codec round trips (ceilings, never ranked); "baseline": floors
PARADIGMS = ("reference", "baseline", "autoregressive", "masked", "flow", "llm")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass(frozen=True)
class GeneratorMeta:
    """Validated metadata of a generator (what ``v2abench models`` lists)."""

    name: str
    paradigm: str
    version: str
    sample_rate: int
    max_duration: float
    tasks: tuple[Task, ...]
    kind: str = "generator"
    params: int = 0
    checkpoint_sha256: str | None = None
    description: str = ""
    # role -> sha256 of each frozen network generation runs besides its checkpoint (e.g. {"codec": ...});
    # recorded in the result and part of the generated-audio cache key (see v2abench.provenance)
    networks: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"generator name {self.name!r} must be lowercase letters, digits, '.', '_' or '-'")
        if self.paradigm not in PARADIGMS:
            raise ValueError(f"paradigm {self.paradigm!r} is not one of {PARADIGMS}")
        if self.sample_rate <= 0 or self.max_duration <= 0:
            raise ValueError("sample_rate and max_duration must be positive")
        if not self.tasks or not all(isinstance(t, Task) for t in self.tasks):
            raise ValueError("tasks must be a non-empty tuple of Task")
        if self.checkpoint_sha256 is not None and not _SHA256.fullmatch(self.checkpoint_sha256):
            raise ValueError("checkpoint_sha256 must be 64 lowercase hex digits")
        for role, sha in self.networks.items():
            if sha is not None and not _SHA256.fullmatch(sha):
                raise ValueError(f"networks[{role!r}] must be 64 lowercase hex digits or None")

    def supports(self, task: Task) -> bool:
        return task in self.tasks

    @property
    def checkpoint_sha8(self) -> str:
        return (self.checkpoint_sha256 or "none")[:8]


@dataclass
class V2ABatch:
    """What the loader produced for a batch of clips (index i is clip ``ids[i]``).

    ``frames``: uint8 ``[B, T, 3, H, W]`` at ``fps`` (or None when features are cached);
    ``features``: optional cached visual features by extractor name;
    ``reference_audio``: float32 ``[B, 1, N]`` at ``sample_rate`` (ground truth; used by the
    ``ground-truth`` baseline and the metrics, never by a real model);
    ``prefix_audio`` (FE), ``style_audio`` (AC-VTA, same rate), ``edit_window`` (EDIT, seconds).
    """

    ids: list[str]
    frames: torch.Tensor | None = None
    fps: float | None = None
    features: dict[str, torch.Tensor] = field(default_factory=dict)
    text: list[str | None] | None = None
    reference_audio: torch.Tensor | None = None
    sample_rate: int | None = None
    prefix_audio: torch.Tensor | None = None
    style_audio: torch.Tensor | None = None
    edit_window: list[tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("frames", "reference_audio", "prefix_audio", "style_audio"):
            value = getattr(self, name)
            if value is not None and value.shape[0] != n:
                raise ValueError(f"V2ABatch.{name} has batch size {value.shape[0]}, expected {n}")
        if self.text is not None and len(self.text) != n:
            raise ValueError(f"V2ABatch.text has {len(self.text)} entries, expected {n}")

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class GenerationOutput:
    """Audio ``[B, 1, T]`` at ``sample_rate``, optional captions, and timing of the call."""

    audio: torch.Tensor
    sample_rate: int
    seconds: float = 0.0
    nfe: int = 0
    captions: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.audio.dim() != 3 or self.audio.shape[1] != 1:
            raise ValueError(f"GenerationOutput.audio must be [B, 1, T], got {tuple(self.audio.shape)}")


@runtime_checkable
class Generator(Protocol):
    """Every backend, baselines included."""

    meta: GeneratorMeta

    def generate(
        self,
        batch: V2ABatch,
        *,
        task: Task = Task.VTA,
        duration: float,
        seed: int,
        steps: int | None = None,
        cfg_scale: float | None = None,
    ) -> GenerationOutput: ...


def clip_seed(seed: int, clip_id: str) -> int:
    """A 63-bit seed derived from (seed, clip id) with sha256 (stable across processes and runs)."""
    digest = hashlib.sha256(f"{seed}:{clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def clip_rng(seed: int, clip_id: str, device: str | torch.device = "cpu") -> torch.Generator:
    """The random generator of one clip: independent of batch composition and order."""
    gen = torch.Generator(device=device)
    gen.manual_seed(clip_seed(seed, clip_id))
    return gen


def check_task(meta: GeneratorMeta, task: Task) -> None:
    """Raise :class:`UnsupportedTaskError` when ``meta`` does not declare ``task``."""
    if not meta.supports(task):
        supported = ", ".join(t.value for t in meta.tasks)
        raise UnsupportedTaskError(f"{meta.name} does not support task {task.value!r} (supports: {supported})")
