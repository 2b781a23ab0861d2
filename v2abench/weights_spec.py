"""The record of one pretrained file in the weights registry (see :mod:`v2abench.weights`).

``kind="folder"`` marks a folder of files instead (a Hugging Face model folder: ``config.json``,
``tokenizer.json`` and ``*.safetensors``); its ``filename`` is empty and ``path`` is the folder.
"""

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
    kind: str = "file"  # "file" or "folder"

    @property
    def path(self) -> Path:
        return paths.weights_dir() / self.name / self.filename

    @property
    def present(self) -> bool:
        """The file is there; a folder holds its ``config.json`` and at least one ``*.safetensors``."""
        if self.kind == "folder":
            return (self.path / "config.json").is_file() and any(self.path.glob("*.safetensors"))
        return self.path.is_file()

    @property
    def pinned(self) -> bool:
        return bool(self.expected)
