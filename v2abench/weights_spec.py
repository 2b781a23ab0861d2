"""The record of one pretrained file in the weights registry (see :mod:`v2abench.weights`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from v2abench import paths


@dataclass(frozen=True)
class WeightsSpec:
    name: str
    filename: str
    url: str
    expected: str  # full sha256, a publisher's hash prefix, or "" (unpinned)
    licence: str
    size: int | None = None
    description: str = ""

    @property
    def path(self) -> Path:
        return paths.weights_dir() / self.name / self.filename

    @property
    def pinned(self) -> bool:
        return bool(self.expected)
